#include "util/thread_pool.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace qk {
namespace {

// Set while a thread runs a task of the pool: a parallel_for inside a task runs inline (the pool runs one
// job at a time, so waiting for it from inside its own job would never end).
thread_local bool inside_task = false;

// Workers sleep on a condition variable; a job is a body and an atomic counter of the next index.
// Before sleeping, a worker that has finished a job, and a caller whose worker is still busy, wait awake:
// a decode step posts about 60 jobs back to back, 5-30 us apart, and a worker that went to sleep between
// them would wake for each (a futex wake and a scheduling delay, during which the caller works alone).
// First they spin for 15 us: beside one other busy process a 50 us spin took the core from the caller
// (decode 0.85 x the pool without spinning), 15 us did not. Then, up to 100 us, they yield the core at each
// check (sched_yield), so a waiting thread runs only when nothing else wants its core. With the spin alone
// the workers still slept 20-30 times a step and the callers 10-20 (half the jobs paid a futex wake);
// with the yields, once in 4 steps; decode 1.08 x. Beside a busy process yielding cost 0.85-0.92 x, hence
// the late-yield rule in spin_while.
// One job runs at a time (a mutex serialises callers), which is all the engine needs: concurrent
// requests are already queued into one engine thread by the server, and QK-Pro runs one layer at a time.
class Pool {
 public:
  explicit Pool(std::size_t threads) {
    for (std::size_t t = 1; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }
  std::size_t size() const { return workers_.size() + 1; }

  void run(std::size_t count, const std::function<void(std::size_t)>& body) {
    std::lock_guard caller(run_mutex_);
    {
      std::lock_guard lock(mutex_);
      float_mode_ = FloatMode::current();
      body_ = &body;
      count_ = count;
      next_ = 0;
      active_ = workers_.size();
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    drain();
    spin_while([this] { return active_.load(std::memory_order_acquire) != 0; });
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return active_ == 0; });
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void drain() {
    inside_task = true;
    for (std::size_t i; (i = next_.fetch_add(1)) < count_;) {
      try {
        (*body_)(i);
      } catch (...) {
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
        next_ = count_;  // start no further items
      }
    }
    inside_task = false;
  }
  // Waits while still() holds: spinning for kSpin, then yielding the core between checks up to kYieldUntil;
  // the caller then sleeps on a condition variable. A yield that came back late means another process took
  // the core: for the next kBusyFor no thread yields (each sleeps after its spin), since beside a busy
  // process a yielded core comes back only after that process's time slice.
  static constexpr std::chrono::microseconds kSpin{15}, kYieldUntil{100}, kLateYield{50};
  static constexpr std::chrono::milliseconds kBusyFor{200};
  template <class Pred>
  void spin_while(Pred still) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const bool may_yield = start.time_since_epoch().count() > busy_until_.load(std::memory_order_relaxed);
    while (still()) {
      for (int i = 0; i < 64; ++i) pause();
      if (!still()) return;
      const auto now = Clock::now();
      if (now - start > (may_yield ? kYieldUntil : kSpin)) return;
      if (now - start > kSpin) {
        std::this_thread::yield();
        if (const auto back = Clock::now(); back - now > kLateYield) {
          busy_until_.store((back + kBusyFor).time_since_epoch().count(), std::memory_order_relaxed);
          return;
        }
      }
    }
  }
  static void pause() {
#if defined(__x86_64__)
    _mm_pause();
#endif
  }

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      spin_while([&] { return generation_.load(std::memory_order_acquire) == seen; });
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      {
        const FloatMode own = FloatMode::current();
        float_mode_.apply();
        drain();
        own.apply();
      }
      std::lock_guard lock(mutex_);
      if (--active_ == 0) done_.notify_all();
    }
  }

  // The caller's floating-point mode (x86: MXCSR's rounding and flush-to-zero / denormals-are-zero bits),
  // which the workers take on for the job, so that every item computes as it would on the calling thread.
  struct FloatMode {
    static constexpr unsigned kStatusFlags = 0x3F;  // sticky exception flags: per thread, not a mode
    unsigned csr = 0;
    static FloatMode current() {
#if defined(__x86_64__)
      return {_mm_getcsr() & ~kStatusFlags};
#else
      return {};
#endif
    }
    void apply() const {
#if defined(__x86_64__)
      const unsigned now = _mm_getcsr();
      if ((now & ~kStatusFlags) != csr) _mm_setcsr(csr | (now & kStatusFlags));
#endif
    }
  };

  std::vector<std::thread> workers_;
  FloatMode float_mode_;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t)>* body_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> active_{0};
  std::atomic<std::uint64_t> generation_{0};
  bool stopping_ = false;
  std::atomic<std::chrono::steady_clock::rep> busy_until_{0};  // no yielding before this time
  std::exception_ptr error_;
};

std::size_t configured_threads() {
  if (const char* env = std::getenv("QK_THREADS")) {
    long n = std::strtol(env, nullptr, 10);
    if (n >= 1) return static_cast<std::size_t>(n);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

// The one rule for OpenBLAS threads: every product runs on the pool thread that calls it. Debian ships
// the pthread build of OpenBLAS (libopenblas0-pthread), whose own threads would otherwise spin in
// sched_yield beside the pool's between products and take the cores from the element-wise work
// (measured: a fifth of QK-Pro's samples; the engine's products well below the sgemm yardstick). The
// setting is process-wide and made once, when the pool starts.
std::size_t threads_with_single_threaded_blas() {
  openblas_set_num_threads(1);
  return configured_threads();
}

Pool& pool() {
  static Pool instance(threads_with_single_threaded_blas());
  return instance;
}

}  // namespace

std::size_t worker_threads() { return pool().size(); }

void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body) {
  if (count == 0) return;
  if (count == 1 || inside_task || pool().size() == 1) {
    for (std::size_t i = 0; i < count; ++i) body(i);
    return;
  }
  pool().run(count, body);
}

void parallel_ranges(std::size_t count, std::size_t grain,
                     const std::function<void(std::size_t begin, std::size_t end)>& body) {
  if (count == 0) return;
  const std::size_t pieces = std::clamp<std::size_t>(count / std::max<std::size_t>(grain, 1), 1, 4 * pool().size());
  const std::size_t step = (count + pieces - 1) / pieces;
  parallel_for((count + step - 1) / step,
               [&](std::size_t piece) { body(piece * step, std::min(count, (piece + 1) * step)); });
}

void parallel_ranges_stealing(std::size_t count, std::size_t grain,
                              const std::function<void(std::size_t begin, std::size_t end)>& body) {
  if (count == 0) return;
  // A slice's bounds are packed as two 32-bit halves below; a longer loop takes equal ranges instead.
  if (count > 0xFFFFFFFFu) return parallel_ranges(count, grain, body);
  const std::size_t least = std::max<std::size_t>(grain, 1);
  const std::size_t slices = std::clamp<std::size_t>(count / least, 1, pool().size());
  // Slice s is [front, back), packed in one word (front in the high half) so that its owner, taking chunks
  // from the front, and a thief, taking chunks from the back, claim disjoint chunks with one compare-exchange.
  struct alignas(64) Slice {
    std::atomic<std::uint64_t> bounds;
  };
  std::vector<Slice> slice(slices);
  auto pack = [](std::uint64_t front, std::uint64_t back) { return front << 32 | back; };
  for (std::size_t s = 0; s < slices; ++s) slice[s].bounds = pack(count * s / slices, count * (s + 1) / slices);
  // Claims up to `least` items of slice s, from its front or its back; false when the slice is empty.
  auto claim = [&](std::size_t s, bool from_front, std::size_t& begin, std::size_t& end) {
    std::uint64_t seen = slice[s].bounds.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t front = seen >> 32, back = seen & 0xFFFFFFFFu;
      if (front >= back) return false;
      const std::uint64_t take = std::min<std::uint64_t>(least, back - front);
      const std::uint64_t next = from_front ? pack(front + take, back) : pack(front, back - take);
      if (slice[s].bounds.compare_exchange_weak(seen, next, std::memory_order_relaxed)) {
        begin = from_front ? front : back - take;
        end = from_front ? front + take : back;
        return true;
      }
    }
  };
  parallel_for(slices, [&](std::size_t own) {
    std::size_t begin = 0, end = 0;
    while (claim(own, true, begin, end)) body(begin, end);
    for (std::size_t k = 1; k < slices; ++k) {
      const std::size_t other = (own + k) % slices;
      while (claim(other, false, begin, end)) body(begin, end);
    }
  });
}

}  // namespace qk
