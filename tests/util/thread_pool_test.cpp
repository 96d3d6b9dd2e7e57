// The worker pool every parallel loop runs on: each index exactly once, errors rethrown, nested loops
// inline, callers on several threads served one loop at a time, items in the caller's floating-point mode.
#include "util/thread_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace {

using namespace std::chrono_literals;

// Waits (up to 10 s) until pred() holds; returns whether it did.
template <class Pred>
bool eventually(Pred pred) {
  for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
    if (pred()) return true;
    std::this_thread::sleep_for(100us);
  }
  return pred();
}

TEST(ThreadPool, VisitsEveryIndexOnce) {
  for (std::size_t count : {0u, 1u, 2u, 1000u}) {
    std::vector<int> hits(count, 0);
    qk::parallel_for(count, [&](std::size_t i) { hits[i] += 1; });
    EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), static_cast<long>(count)) << count;
  }
}

TEST(ThreadPool, RethrowsTheErrorAndStartsNoFurtherItems) {
  // Every item fails: each thread starts one item at most, since a thread that fetched an index
  // before another's failure stopped the loop still runs that one (and fails too).
  std::atomic<std::size_t> started{0};
  EXPECT_THROW(qk::parallel_for(100000,
                                [&](std::size_t) {
                                  ++started;
                                  throw std::runtime_error("every item fails");
                                }),
               std::runtime_error);
  EXPECT_GE(started.load(), 1u);
  EXPECT_LE(started.load(), qk::worker_threads());
  // The pool is usable afterwards.
  std::atomic<std::size_t> after{0};
  qk::parallel_for(50, [&](std::size_t) { ++after; });
  EXPECT_EQ(after.load(), 50u);
}

TEST(ThreadPool, RangesCoverEachIndexOnce) {
  for (std::size_t count : {1u, 5u, 999u}) {
    std::vector<int> hits(count, 0);
    qk::parallel_ranges(count, 7, [&](std::size_t begin, std::size_t end) {
      EXPECT_LT(begin, end);
      for (std::size_t i = begin; i < end; ++i) hits[i] += 1;
    });
    EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), static_cast<long>(count)) << count;
  }
}

// Stealing ranges: each index once, no range above the grain, and a thread held up in its own slice has the
// rest of that slice taken by the others.
TEST(ThreadPool, StealingRangesCoverEachIndexOnceAndTakeFromASlowThread) {
  for (std::size_t count : {1u, 5u, 64u, 65u, 999u, 6145u}) {
    std::vector<int> hits(count, 0);
    std::atomic<std::size_t> largest{0};
    qk::parallel_ranges_stealing(count, 64, [&](std::size_t begin, std::size_t end) {
      EXPECT_LT(begin, end);
      for (std::size_t i = begin; i < end; ++i) hits[i] += 1;
      for (std::size_t seen = largest; end - begin > seen && !largest.compare_exchange_weak(seen, end - begin);) {
      }
    });
    EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), static_cast<long>(count)) << count;
    EXPECT_LE(largest.load(), 64u) << count;
  }
  // Beyond 2^32 items (past the packed bounds' halves) the loop still covers each index once, in order.
  {
    constexpr std::size_t kHuge = (std::size_t{1} << 32) + 5;
    std::mutex mutex;
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
    qk::parallel_ranges_stealing(kHuge, 64, [&](std::size_t begin, std::size_t end) {
      std::lock_guard lock(mutex);
      ranges.emplace_back(begin, end);
    });
    std::sort(ranges.begin(), ranges.end());
    std::size_t next = 0;
    for (auto [begin, end] : ranges) {
      EXPECT_EQ(begin, next);
      next = end;
    }
    EXPECT_EQ(next, kHuge);
  }
  if (qk::worker_threads() < 2) GTEST_SKIP() << "one thread: nothing to take";
  // The thread that runs index 0 stops there for 200 ms: the others finish its slice, from the back.
  constexpr std::size_t kCount = 64 * 100;
  std::mutex mutex;
  std::map<std::thread::id, std::size_t> done;
  std::thread::id slow;
  qk::parallel_ranges_stealing(kCount, 64, [&](std::size_t begin, std::size_t end) {
    if (begin == 0) {
      {
        std::lock_guard lock(mutex);
        slow = std::this_thread::get_id();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::lock_guard lock(mutex);
    done[std::this_thread::get_id()] += end - begin;
  });
  EXPECT_LT(done[slow], kCount / qk::worker_threads()) << "the slow thread's slice was taken over";
}

TEST(ThreadPool, NestedLoopsRunInline) {
  // A loop inside an item (a product inside a per-head task) must not wait on the busy pool.
  std::vector<int> inner(64 * 32, 0);
  qk::parallel_for(64, [&](std::size_t i) { qk::parallel_for(32, [&](std::size_t j) { inner[i * 32 + j] += 1; }); });
  EXPECT_EQ(std::count(inner.begin(), inner.end(), 1), 64 * 32);
}

TEST(ThreadPool, CallersOnSeveralThreadsTakeTurns) {
  constexpr std::size_t kCallers = 4, kLoops = 50, kCount = 257;
  std::vector<std::vector<int>> hits(kCallers, std::vector<int>(kCount, 0));
  std::vector<std::thread> callers;
  for (std::size_t c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (std::size_t loop = 0; loop < kLoops; ++loop) qk::parallel_for(kCount, [&](std::size_t i) { hits[c][i] += 1; });
    });
  for (auto& t : callers) t.join();
  for (std::size_t c = 0; c < kCallers; ++c)
    EXPECT_EQ(std::count(hits[c].begin(), hits[c].end(), static_cast<int>(kLoops)), static_cast<long>(kCount)) << c;
}

TEST(ThreadPool, WaitsForItemsWorkersClaimed) {
  // Slow items, so that workers claim some: every one must be finished when the loop returns.
  std::vector<std::atomic<int>> done(16);
  qk::parallel_for(done.size(), [&](std::size_t i) {
    std::this_thread::sleep_for(2ms);
    done[i] = 1;
  });
  for (std::size_t i = 0; i < done.size(); ++i) EXPECT_EQ(done[i].load(), 1) << i;
}

#if defined(__x86_64__)
TEST(ThreadPool, ItemsRunInTheCallersFloatingPointMode) {
  if (qk::worker_threads() < 2) GTEST_SKIP() << "one thread: no worker";
  constexpr unsigned kStatusFlags = 0x3F, kFlushToZero = 1u << 15, kDenormalsAreZero = 1u << 6, kRoundUp = 2u << 13;
  const unsigned saved = _mm_getcsr();
  for (unsigned mode : {saved | kFlushToZero | kDenormalsAreZero | kRoundUp, saved}) {
    _mm_setcsr(mode);
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<bool> on_worker{false};
    std::vector<unsigned> seen(8);
    // The caller's items wait until a worker has run one, so that a worker takes part however it is scheduled.
    qk::parallel_for(seen.size(), [&](std::size_t i) {
      seen[i] = _mm_getcsr() & ~kStatusFlags;
      if (std::this_thread::get_id() != caller) on_worker = true;
      else eventually([&] { return on_worker.load(); });
    });
    _mm_setcsr(saved);
    EXPECT_TRUE(on_worker.load());
    for (unsigned m : seen) EXPECT_EQ(m, mode & ~kStatusFlags);
  }
}
#endif

}  // namespace
