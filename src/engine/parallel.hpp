// A small persistent thread pool for the engine's per-head loops (attention, delta rule, experts).
// Matrix products go through OpenBLAS, which has its own threads; the two never run at the same time.
#pragma once
#include <cstddef>
#include <functional>

namespace qk::engine {

// Calls body(i) for every i in [0, count), spread over the pool's threads (the caller is one of them).
// Returns when all calls are done. Exceptions thrown by body are rethrown here (the first one).
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body);

// Number of threads parallel_for uses (hardware concurrency, or QK_ENGINE_THREADS when set).
std::size_t engine_threads();

}  // namespace qk::engine
