// decode_products: a decode step's weight products alone, against the read yardstick measured right after.
// The MoE of bench/llama's comparison (hidden 1024, 12 layers, 16 experts of 512 with top-4, a 1024 shared
// expert), its bf16 weights random and in memory: per layer the fused input projection (3088 x 1024), the output
// projection, the gate/up products of 4 experts drawn per token with the shared expert's in one matmul_batch,
// then their down products in another (48 pool jobs a step, 328 MB of weights out of 744 MB). --gap-us spins
// the calling thread that long after each job (left out of the products' time), as a step's serial work
// between its products does.
// --huge-pages puts the weights (and the yardstick) in 2 MiB pages; --one-product reads the same bytes a step reads
// as one product, the kernel without the step's job boundaries.
//   decode_products [--gap-us 0] [--steps 60] [--rounds 3] [--huge-pages] [--one-product]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/matmul.hpp"
#include "util/huge_pages.hpp"
#include "util/thread_pool.hpp"
#include "yardsticks.hpp"

using namespace qk::engine;
using Clock = std::chrono::steady_clock;

namespace {

struct Layer {
  Matrix in, out, shared_gate, shared_up, shared_down;
  std::vector<Matrix> gate, up, down;
};

// The weights live in one arena, as in a mapped checkpoint: in 4 KiB pages (a plain allocation) or in 2 MiB
// pages (advised, util/huge_pages), as the mapped weights are when the page cache holds 2 MiB folios.
struct Arena {
  std::shared_ptr<std::uint16_t> memory;
  std::size_t used = 0, size = 0;
  Arena(std::size_t elements, bool huge_pages) : size(elements) {
    auto* p = static_cast<std::uint16_t*>(huge_pages ? qk::allocate_huge_page_backed(elements * 2) : std::malloc(elements * 2));
    if (!p) throw std::bad_alloc();
    memory.reset(p, [](std::uint16_t* q) { std::free(q); });
  }
  Matrix random_bf16(std::size_t rows, std::size_t cols, std::mt19937& rng) {
    if (used + rows * cols > size) throw std::runtime_error("decode_products: arena too small");
    std::uint16_t* w = memory.get() + used;
    used += rows * cols;
    for (std::size_t i = 0; i < rows * cols; ++i) w[i] = static_cast<std::uint16_t>(0x3c00 | (rng() >> 22));  // bf16 in [2^-7, 2^-6)
    return Matrix(w, rows, cols, memory);
  }
};

void spin_for(double microseconds) {
  const auto start = Clock::now();
  while (std::chrono::duration<double, std::micro>(Clock::now() - start).count() < microseconds) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"decode_products: a decode step's weight products alone, against the read yardstick"};
  double gap_us = 0;
  int steps = 60, rounds = 3;
  app.add_option("--gap-us", gap_us, "spin this long on the calling thread after each job");
  app.add_option("--steps", steps, "steps per round")->check(CLI::PositiveNumber);
  app.add_option("--rounds", rounds, "rounds, each followed by the yardstick")->check(CLI::PositiveNumber);
  bool huge_pages = false, one_product = false;
  app.add_flag("--one-product", one_product, "a step as one product over all the step's weights (no job boundaries)");
  app.add_flag("--huge-pages", huge_pages, "weights and yardstick in 2 MiB pages (else 4 KiB)");
  CLI11_PARSE(app, argc, argv);

  constexpr std::size_t kHidden = 1024, kLayers = 12, kExperts = 16, kPicked = 4;
  std::mt19937 rng(1);
  Arena arena(kLayers * (3088 + 2 * 1024 + 1024 + 3 * kExperts * 512) * kHidden + kLayers * kHidden * 1024, huge_pages);
  auto random_bf16 = [&](std::size_t rows, std::size_t cols, std::mt19937& r) { return arena.random_bf16(rows, cols, r); };
  std::vector<Layer> layers;
  for (std::size_t l = 0; l < kLayers; ++l) {
    Layer layer{random_bf16(3088, kHidden, rng), random_bf16(kHidden, kHidden, rng), random_bf16(1024, kHidden, rng),
                random_bf16(1024, kHidden, rng), random_bf16(kHidden, 1024, rng), {}, {}, {}};
    for (std::size_t e = 0; e < kExperts; ++e) {
      layer.gate.push_back(random_bf16(512, kHidden, rng));
      layer.up.push_back(random_bf16(512, kHidden, rng));
      layer.down.push_back(random_bf16(kHidden, 512, rng));
    }
    layers.push_back(std::move(layer));
  }
  std::vector<float> x(1024, 0.01f), y(16384);
  double seconds = 0, bytes = 0;
  auto job_done = [&](Clock::time_point& since) {
    seconds += std::chrono::duration<double>(Clock::now() - since).count();
    spin_for(gap_us);
    since = Clock::now();
  };
  // --one-product: the same bytes a step reads, as one matrix of rows of kHidden (the kernel without job boundaries)
  const Matrix all(arena.memory.get(), arena.used / kHidden, kHidden, arena.memory);
  std::vector<float> all_y(all.rows());
  auto one_step = [&] {
    auto since = Clock::now();
    const std::size_t rows = 328'000'000 / (2 * kHidden), first = rng() % (all.rows() - rows);
    matmul_wt(x.data(), all.rows_view(first, rows), all_y.data(), 1);
    job_done(since);
    bytes += static_cast<double>(rows * kHidden * 2);
  };
  auto step = [&] {
    if (one_product) return one_step();
    auto since = Clock::now();
    for (auto& l : layers) {
      matmul_wt(x.data(), l.in, y.data(), 1);
      job_done(since);
      matmul_wt(x.data(), l.out, y.data(), 1);
      job_done(since);
      std::vector<std::size_t> picked;
      while (picked.size() < kPicked) {
        const std::size_t e = rng() % kExperts;
        if (std::find(picked.begin(), picked.end(), e) == picked.end()) picked.push_back(e);
      }
      std::vector<Product> products;
      for (std::size_t e : picked) {
        products.push_back({x.data(), &l.gate[e], y.data(), y.size()});
        products.push_back({x.data(), &l.up[e], y.data(), y.size()});
      }
      products.push_back({x.data(), &l.shared_gate, y.data(), y.size()});
      products.push_back({x.data(), &l.shared_up, y.data(), y.size()});
      matmul_batch(products, 1);
      job_done(since);
      products.clear();  // the down products read x too: their inputs' values do not matter here
      for (std::size_t e : picked) products.push_back({x.data(), &l.down[e], y.data(), y.size()});
      products.push_back({x.data(), &l.shared_down, y.data(), y.size()});
      matmul_batch(products, 1);
      job_done(since);
      bytes += static_cast<double>(l.in.bytes() + l.out.bytes() + 2 * l.shared_gate.bytes() + l.shared_down.bytes() +
                                   kPicked * (2 * l.gate[0].bytes() + l.down[0].bytes()));
    }
  };
  std::printf("%d threads, %.0f us after each job, %s pages\n", static_cast<int>(qk::worker_threads()), gap_us, huge_pages ? "2 MiB" : "4 KiB");
  for (int round = 0; round < rounds; ++round) {
    step();  // first touch
    seconds = bytes = 0;
    for (int s = 0; s < steps; ++s) step();
    const double products = bytes / seconds / 1e9, read = qk::bench::read_bandwidth(huge_pages ? qk::bench::Pages::Huge : qk::bench::Pages::Small).wall;
    std::printf("round %d: products %.1f GB/s (%.0f MB a step), read yardstick %.1f GB/s: %.0f%%\n", round + 1, products,
                bytes / steps / 1e6, read, 100 * products / read);
  }
}
