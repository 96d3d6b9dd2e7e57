// The engine's parallel loops: the process's worker pool (util/thread_pool.hpp) with OpenBLAS kept at
// one thread, so that every product runs on the pool thread that calls it. Debian ships the pthread
// build of OpenBLAS (libopenblas0-pthread), whose own threads would otherwise spin-wait beside the pool's
// between products and compete for the cores (a version that switched OpenBLAS to one thread around each
// pool loop ran its products well below the sgemm yardstick). The setting is process-wide and stays once
// the engine has run a loop: other OpenBLAS users in that process run single-threaded too.
#pragma once
#include <cstddef>
#include <functional>

namespace qk::engine {

// qk::parallel_for / qk::parallel_ranges, after OpenBLAS is set to one thread.
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body);
void parallel_ranges(std::size_t count, std::size_t grain,
                     const std::function<void(std::size_t begin, std::size_t end)>& body);

// Number of threads the engine's loops use (qk::worker_threads()).
std::size_t engine_threads();

}  // namespace qk::engine
