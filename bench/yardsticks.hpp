// The machine's own limits that the engine benches divide by, measured on the engine's thread pool (its
// QK_THREADS), wall clock and per CPU-second (on a shared machine the latter is steadier):
//   read bandwidth: bytes of a 1 GiB array (larger than any cache) summed by the pool's threads, the limit of a
//     decode step, which streams each weight once. Measured in 4 KiB pages and in 2 MiB pages: on the development
//     VM the latter read 5-50% faster (by the minute), and the engine's mapped weights sit in 2 MiB pages whenever the page cache
//     holds the checkpoint in 2 MiB folios (read from disk, or written in large writes; not after cp), so the
//     limit a decode step is judged against is the faster of the two;
//   engine GEMM: the engine's own product (matmul_wt, f32 or bf16 weights) at a prefill shape, the limit of
//     prefill, whose time is mostly those products.
// Each is the best of 10 repetitions: on a shared machine a few of them run slow, and the limit is what the machine
// does when it is not held back (3 products, before 2026-12-07, gave GEMM rates from 277 to 362 GFLOP/s in one quiet
// minute).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <ctime>
#include <stdexcept>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "engine/matmul.hpp"
#include "io/dtype.hpp"
#include "util/huge_pages.hpp"
#include "util/thread_pool.hpp"

namespace qk::bench {

struct Rate {
  double wall = 0;        // per second
  double per_cpu_s = 0;   // per CPU-second of this process (all threads)
};

// Best of `reps` runs of body() doing `amount` (bytes, FLOP) in its time, in units of 1e9.
template <class Body>
Rate best_of(int reps, double amount, Body&& body) {
  using Clock = std::chrono::steady_clock;
  Rate best;
  for (int rep = 0; rep < reps; ++rep) {
    const auto t = Clock::now();
    const std::clock_t c = std::clock();
    body();
    const double wall = std::chrono::duration<double>(Clock::now() - t).count();
    const double cpu = static_cast<double>(std::clock() - c) / CLOCKS_PER_SEC;
    best.wall = std::max(best.wall, amount / wall / 1e9);
    if (cpu > 0) best.per_cpu_s = std::max(best.per_cpu_s, amount / cpu / 1e9);
  }
  return best;
}

// Sum of x[0, n) with 64 floats in flight per step: AVX-512 where the CPU has it (the engine's decode kernels
// use it too), else plain, which the compiler turns into SSE adds.
#if defined(__x86_64__) && defined(__GNUC__)
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's _mm512_reduce_add_ps starts from an undefined vector
#endif
__attribute__((target("avx512f"))) inline float sum_avx512(const float* x, std::size_t n) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a = _mm512_add_ps(a, _mm512_loadu_ps(x + i));
    b = _mm512_add_ps(b, _mm512_loadu_ps(x + i + 16));
    c = _mm512_add_ps(c, _mm512_loadu_ps(x + i + 32));
    d = _mm512_add_ps(d, _mm512_loadu_ps(x + i + 48));
  }
  float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
  for (; i < n; ++i) s += x[i];
  return s;
}
#endif
inline float sum_plain(const float* x, std::size_t n) {
  float acc[64] = {};
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int j = 0; j < 64; ++j) acc[j] += x[i + j];
  float s = 0;
  for (float a : acc) s += a;
  for (; i < n; ++i) s += x[i];
  return s;
}

// GB/s: 16 parts of a 1 GiB array handed out to the pool's threads as they free up (a thread slowed by other
// processes does not hold up the rest); the array in 4 KiB pages (a plain vector: Debian's THP mode "madvise"
// leaves it so) or in 2 MiB pages (advised, util/huge_pages).
enum class Pages { Small, Huge };
inline Rate read_bandwidth(Pages pages = Pages::Huge) {
  const std::size_t n = (std::size_t{1} << 30) / sizeof(float), parts = 16;
  std::vector<float> small_pages;
  std::vector<float, HugePageAllocator<float>> huge_pages;
  if (pages == Pages::Huge) huge_pages.assign(n, 1.0f);
  else small_pages.assign(n, 1.0f);
  const float* data = pages == Pages::Huge ? huge_pages.data() : small_pages.data();
  std::vector<float> sums(parts);
#if defined(__x86_64__) && defined(__GNUC__)
  const auto sum = __builtin_cpu_supports("avx512f") ? sum_avx512 : sum_plain;
#else
  const auto sum = sum_plain;
#endif
  const Rate rate = best_of(10, static_cast<double>(n * sizeof(float)), [&] {
    parallel_for(parts, [&](std::size_t p) { sums[p] = sum(data + p * (n / parts), n / parts); });
  });
  if (sums[0] != static_cast<float>(n / parts)) throw std::runtime_error("read_bandwidth: wrong checksum");
  return rate;
}

// GFLOP/s of the engine's product y[m, n] = x[m, k] W[n, k]^T, W f32 or bf16.
inline Rate engine_gemm(std::size_t m, std::size_t n, std::size_t k, bool bf16) {
  std::vector<float> x(m * k, 0.5f), y(m * n), w32(n * k, 0.25f);
  const engine::Matrix w = bf16 ? engine::Matrix(std::vector<std::uint16_t>(n * k, f32_to_bf16(0.25f)), n, k)
                                : engine::Matrix(std::move(w32), n, k);
  return best_of(10, 2.0 * static_cast<double>(m * n * k), [&] { engine::matmul_wt(x.data(), w, y.data(), m); });
}

}  // namespace qk::bench
