// The machine a benchmark ran on, as every benchmark records it with its figures: cores, CPU
// model, memory, kernel and the UTC date of the run.
//
// Threads: no shared state.
#pragma once

#include <boost/json.hpp>
#include <string>

namespace gatilho::bench {

// Fills `out` with nproc, cpu_model, ram_mb, kernel and date, and returns them as one line for
// the printed report.
std::string DescribeMachine(boost::json::object* out);

}  // namespace gatilho::bench
