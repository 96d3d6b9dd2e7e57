// Denormal floats (|x| < 2^-126) take a slow path in the FPU: the chunked delta rule's decays
// exp(G_i - G_j) and the products they scale reach them often, and an 8K prefill of the shipped models
// spent about 22% of its time there. While one of these lives, the calling thread flushes them to zero
// (x86 MXCSR: FTZ for results, DAZ for inputs), and so do the pool's workers for the loops it starts
// (util/thread_pool.hpp); the previous mode comes back when it ends. Elsewhere a no-op.
// (Measurements of what flushing changes turn it off for the whole process: set_flush_denormals(false).)
#pragma once
#include <atomic>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace qk::engine {

inline std::atomic<bool>& flush_denormals_setting() {
  static std::atomic<bool> on{true};
  return on;
}
inline void set_flush_denormals(bool on) { flush_denormals_setting() = on; }

class FlushDenormals {
 public:
#if defined(__x86_64__)
  static constexpr unsigned kFlushToZero = 1u << 15, kDenormalsAreZero = 1u << 6, kStatusFlags = 0x3F;
  FlushDenormals() : saved_(_mm_getcsr()) {
    if (flush_denormals_setting()) _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero);
  }
  ~FlushDenormals() { _mm_setcsr((_mm_getcsr() & kStatusFlags) | (saved_ & ~kStatusFlags)); }  // keep the sticky flags
#else
  FlushDenormals() = default;
#endif
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
#if defined(__x86_64__)
  unsigned saved_;
#endif
};

}  // namespace qk::engine
