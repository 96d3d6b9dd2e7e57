// bf16 weights read as f32, one value or 16 at a time (the products' kernels, matmul.cpp and gemm_avx512.cpp):
// bf16 is the upper half of an f32, so widening is a 16-bit shift, exact.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>

#include "engine/simd.hpp"

namespace qk::engine {

inline float widen_bf16(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }
inline float weight_at(const float* w, std::size_t i) { return w[i]; }
inline float weight_at(const std::uint16_t* w, std::size_t i) { return widen_bf16(w[i]); }

#if defined(__x86_64__) && defined(__GNUC__)
QK_AVX512 inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
QK_AVX512 inline __m512 load16(const std::uint16_t* p) {
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}
#endif

}  // namespace qk::engine
