// seed_watches: registers COUNT watches straight into a gatilho store, in batches, all due at
// once. The benchmark compares it with `gatilho watch -` (the honest intake path, one
// transaction for everything read from stdin) to say which one seeds a million watches faster.
//
//   seed_watches DATA_DIR COMPANY TYPE PREFIX COUNT [BATCH]
//
// Refs are PREFIX followed by the index, zero-padded to 7 digits, so they sort in index order
// (the order in which the daemon will poll watches that share one due time).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/document_type.h"
#include "store/store.h"

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Ref(const std::string& prefix, long index) {
  char digits[24];
  std::snprintf(digits, sizeof(digits), "%07ld", index);
  return prefix + digits;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: seed_watches DATA_DIR COMPANY TYPE PREFIX COUNT [BATCH]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string company = argv[2];
  const std::optional<gatilho::DocType> type = gatilho::ParseDocType(argv[3]);
  const std::string prefix = argv[4];
  const long count = std::atol(argv[5]);
  const long batch = argc > 6 ? std::atol(argv[6]) : 10'000;
  if (!type || count <= 0 || batch <= 0) {
    std::fprintf(stderr, "seed_watches: bad type, count or batch\n");
    return 2;
  }

  gatilho::Store::Options options;
  options.dir = dir;
  // Starting near the final size saves the grow-and-retry rounds a million watches would cause;
  // the daemon's own store starts small, which is fine because it only ever reopens this one.
  options.initial_map_bytes = 1ull << 30;
  auto store = gatilho::Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "seed_watches: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<gatilho::WatchKey> keys;
  for (long first = 0; first < count; first += batch) {
    keys.clear();
    for (long i = first; i < std::min(count, first + batch); ++i) {
      keys.push_back(gatilho::WatchKey{company, *type, Ref(prefix, i)});
    }
    const int64_t now = WallMs();
    auto added = (*store)->AddWatches(keys, now, now);
    if (!added.ok()) {
      std::fprintf(stderr, "seed_watches: %s\n", added.status().ToString().c_str());
      return 1;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("seeded %ld watches in %.3f s (%.0f per second)\n", count, seconds,
              static_cast<double>(count) / seconds);
  return 0;
}
