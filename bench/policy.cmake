# Benchmark 1: the polling policy in virtual time (bench/run_policy.sh runs it and plots).
# Included from bench/CMakeLists.txt; it links the same schedule module as the daemon.
add_executable(policy_bench
               ${CMAKE_CURRENT_LIST_DIR}/policy_main.cc
               ${CMAKE_CURRENT_LIST_DIR}/policy_world.cc
               ${CMAKE_CURRENT_LIST_DIR}/policy_api.cc
               ${CMAKE_CURRENT_LIST_DIR}/policy_simulation.cc
               ${CMAKE_CURRENT_LIST_DIR}/policy_simple.cc
               ${CMAKE_CURRENT_LIST_DIR}/policy_planned.cc
               ${CMAKE_CURRENT_LIST_DIR}/policy_metrics.cc
               ${CMAKE_CURRENT_LIST_DIR}/policy_report.cc)
target_link_libraries(policy_bench PRIVATE gatilho_schedule)
gatilho_warnings(policy_bench)
