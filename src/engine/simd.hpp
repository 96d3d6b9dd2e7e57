// The kernels that the build compiles beside its x86-64 baseline, each for the instruction set in its target
// attribute, and the run-time check that picks them.
#pragma once
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then reports as (maybe-)uninitialized
// inside functions given the AVX-512 target by attribute; the values are fully written.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#define QK_AVX2 __attribute__((target("avx2,fma")))
#define QK_AVX512 __attribute__((target("avx512f")))
#define QK_AVX512BF16 __attribute__((target("avx512f,avx512bf16")))

namespace qk::engine {
// AVX-512F on this CPU (which also means the OS saves the zmm registers).
inline bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}
}  // namespace qk::engine
#endif
