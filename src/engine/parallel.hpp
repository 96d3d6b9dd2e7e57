// A small persistent thread pool: the engine's only threads. Loops over heads, query blocks, row blocks and
// the column blocks of large matrix products all run on it. OpenBLAS (Debian ships the pthread build,
// libopenblas0-pthread) is set to one thread when the pool starts, so every product runs on the thread that
// calls it: its own threads would otherwise spin-wait beside the pool's between products and compete for
// the cores (a version that switched OpenBLAS to one thread around each pool loop ran its products well
// below the sgemm yardstick). The setting is process-wide: other OpenBLAS users in a process that has
// started the engine run single-threaded too.
#pragma once
#include <cstddef>
#include <functional>

namespace qk::engine {

// Calls body(i) for every i in [0, count), spread over the pool's threads (the caller is one of them).
// Returns when all calls are done. Exceptions thrown by body are rethrown here (the first one).
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body);

// Calls body(begin, end) over [0, count) cut into contiguous ranges of at least `grain` items, a few per
// thread so that uneven progress (a busy core on a shared machine) evens out.
void parallel_ranges(std::size_t count, std::size_t grain,
                     const std::function<void(std::size_t begin, std::size_t end)>& body);

// Number of threads parallel_for uses (hardware concurrency, or QK_ENGINE_THREADS when set).
std::size_t engine_threads();

}  // namespace qk::engine
