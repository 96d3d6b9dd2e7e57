// Runs fn(0) .. fn(count - 1) on the machine's cores (std::thread, at most one per core and per
// item). Items must be independent; each writes its own results, so the outcome does not depend on
// the thread count or the order. The first exception an item throws is rethrown after all joined.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace qk {

template <typename Fn>
void parallel_for(std::int64_t count, Fn&& fn) {
  const std::int64_t workers = std::min<std::int64_t>(count, std::max(1u, std::thread::hardware_concurrency()));
  if (workers <= 1) {
    for (std::int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<std::int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (std::int64_t i = next++; i < count; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        next = count;  // stop handing out items
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::int64_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace qk
