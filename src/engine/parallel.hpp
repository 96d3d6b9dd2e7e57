// A small persistent thread pool for the engine's loops over heads, query blocks and row blocks.
// Large matrix products go through OpenBLAS, which has its own threads (Debian ships the pthread build,
// libopenblas0-pthread); the two never run at the same time: while the pool runs a job, OpenBLAS is set
// to one thread, so a product inside a task runs on the task's own thread and the cores are not
// oversubscribed.
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
