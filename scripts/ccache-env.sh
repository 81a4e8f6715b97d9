# Sourced by the build scripts. ccache keys on paths relative to the checkout and not on the
# build folder's path (which it otherwise hashes for debug builds), so a fresh clone elsewhere
# (CI) reuses what an earlier build compiled. The cost: debug info may name the folder of the
# build that filled the cache. Four build trees (plain, ASan, TSan, fuzz) need more room than
# ccache's default 5 GB, or each evicts the others.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-24G}
