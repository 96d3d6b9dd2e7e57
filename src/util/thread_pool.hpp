// The process's worker threads: one persistent pool that every parallel loop of qkrestore runs on
// (QK-Pro and diagnose over heads and chunks, the engine over heads, query blocks and row blocks).
// Threads start on first use, one per core (QK_THREADS overrides), so commands that never run a
// parallel loop (restore, verify) start none. Items must be independent and write their own results:
// the outcome then depends neither on the thread count nor on the order. Items run in the calling thread's
// floating-point mode (rounding, flushing of denormals: see engine/flush_denormals.hpp).
#pragma once
#include <cstddef>
#include <functional>

namespace qk {

// Calls body(i) for every i in [0, count) on the pool's threads (the caller is one of them) and
// returns when all calls are done. The first exception a call throws is rethrown here; items not yet
// started when it was thrown are skipped. A parallel_for inside a running item runs inline, and
// callers on different threads take turns (one loop runs at a time).
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body);

// Calls body(begin, end) over [0, count) cut into contiguous ranges of at least `grain` items, a few per
// thread so that uneven progress (a busy core on a shared machine) evens out.
void parallel_ranges(std::size_t count, std::size_t grain,
                     const std::function<void(std::size_t begin, std::size_t end)>& body);

// As parallel_ranges, but each thread walks its own contiguous slice of [0, count) in chunks of `grain` from the
// front, and a thread done with its own takes chunks from the back of the others'. For loops of a few tens of
// microseconds that stream memory, such as a decode step's weight products: a thread's reads stay one stream
// (the hardware prefetcher keeps running) and no thread waits for another longer than one chunk. Against
// guided ranges (each range half of what is left per thread, handed out in turn, so a thread's ranges were
// apart): the products alone 1.04-1.08 x, decode 1.04 x.
void parallel_ranges_stealing(std::size_t count, std::size_t grain,
                              const std::function<void(std::size_t begin, std::size_t end)>& body);

// Number of threads a parallel loop uses: hardware concurrency, or QK_THREADS when set.
std::size_t worker_threads();

}  // namespace qk
