// Depthwise causal 1-D convolution with SiLU, as the short convolution of Gated DeltaNet / Mamba layers
// (transformers' causal_conv1d_fn / causal_conv1d_update with activation "silu", no bias).
#pragma once
#include <cstddef>

namespace qk::engine {

// x: [tokens, channels] (row stride x_stride), weight: [channels, kernel] (conv1d.weight squeezed),
// state: [kernel-1, channels], the previous inputs oldest first (zeros before the first token); it is
// updated to the last kernel-1 inputs. out: [tokens, channels] (row stride out_stride), may not alias x.
//   out[t][c] = silu(sum_k weight[c][k] * x[t - (kernel-1) + k][c])
void causal_conv1d_silu(const float* x, std::size_t x_stride, std::size_t tokens, std::size_t channels,
                        const float* weight, std::size_t kernel, float* state, float* out, std::size_t out_stride);

}  // namespace qk::engine
