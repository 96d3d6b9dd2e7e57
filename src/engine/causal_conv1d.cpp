#include "engine/causal_conv1d.hpp"

#include <algorithm>
#include <vector>

#include "engine/kernels.hpp"

namespace qk::engine {

void causal_conv1d_silu(const float* x, std::size_t x_stride, std::size_t tokens, std::size_t channels,
                        const float* weight, std::size_t kernel, float* state, float* out, std::size_t out_stride) {
  const std::size_t history = kernel - 1;
  // The input seen by token t at tap k is window row t + k of [state; x].
  auto input = [&](std::size_t row) -> const float* {
    return row < history ? state + row * channels : x + (row - history) * x_stride;
  };
  for (std::size_t t = 0; t < tokens; ++t) {
    float* o = out + t * out_stride;
    for (std::size_t c = 0; c < channels; ++c) o[c] = 0.0f;
    for (std::size_t k = 0; k < kernel; ++k) {
      const float* in = input(t + k);
      for (std::size_t c = 0; c < channels; ++c) o[c] += weight[c * kernel + k] * in[c];
    }
    for (std::size_t c = 0; c < channels; ++c) o[c] = silu(o[c]);
  }
  // New state: the last `history` rows of [state; x].
  std::vector<float> next(history * channels);
  for (std::size_t r = 0; r < history; ++r)
    std::copy_n(input(tokens + r), channels, next.data() + r * channels);
  std::copy(next.begin(), next.end(), state);
}

}  // namespace qk::engine
