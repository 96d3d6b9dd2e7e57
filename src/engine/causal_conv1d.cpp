
#include <algorithm>
#include <vector>

#include "engine/kernels.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {

// Channels [begin, end) of every token. window(row) is row `row` of [state; x]; taps is the weight
// transposed to [kernel, channels] so that each tap is a contiguous row and the channel loop vectorises.
struct ConvRows {
  const float* x;
  std::size_t x_stride, history, channels;
  const float* state;
  const float* window(std::size_t row) const { return row < history ? state + row * channels : x + (row - history) * x_stride; }
};

QK_SIMD_CLONES void conv_channels(const ConvRows& in, std::size_t tokens, const float* taps, std::size_t kernel,
                                  std::size_t begin, std::size_t end, float* out, std::size_t out_stride) {
  for (std::size_t t = 0; t < tokens; ++t) {
    float* o = out + t * out_stride;
    for (std::size_t c = begin; c < end; ++c) o[c] = 0.0f;
    for (std::size_t k = 0; k < kernel; ++k) {
      const float* w = in.window(t + k);
      const float* tap = taps + k * in.channels;
      for (std::size_t c = begin; c < end; ++c) o[c] += tap[c] * w[c];
    }
    for (std::size_t c = begin; c < end; ++c) o[c] = silu(o[c]);
  }
}

}  // namespace

void causal_conv1d_silu(const float* x, std::size_t x_stride, std::size_t tokens, std::size_t channels,
                        const float* weight, std::size_t kernel, float* state, float* out, std::size_t out_stride) {
  const std::size_t history = kernel - 1;
  std::vector<float> taps(kernel * channels);
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t k = 0; k < kernel; ++k) taps[k * channels + c] = weight[c * kernel + k];
  const ConvRows in{x, x_stride, history, channels, state};
  // Channels are independent: ranges of them in parallel (one range when there are few tokens).
  const std::size_t grain = std::max<std::size_t>(256, (std::size_t{1} << 16) / std::max<std::size_t>(tokens, 1));
  parallel_ranges(channels, grain, [&](std::size_t begin, std::size_t end) {
    conv_channels(in, tokens, taps.data(), kernel, begin, end, out, out_stride);
    // New state: the last `history` rows of [state; x]. In place is safe: row r is overwritten by row
    // tokens + r > r, which has been read before its own turn comes.
    for (std::size_t r = 0; r < history; ++r)
      std::copy(in.window(tokens + r) + begin, in.window(tokens + r) + end, state + r * channels + begin);
  });
}

}  // namespace qk::engine
