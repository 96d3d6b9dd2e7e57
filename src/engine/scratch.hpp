// Reusable per-thread buffers for a forward's intermediate activations. Fresh std::vectors cost a 4K-token
// prefill hundreds of MB of zeroing and page faults per layer (a few percent of its wall time); these keep
// their capacity from one forward to the next. Each call site has its own slot, and a slot is live only
// inside one layer's forward, so layers of the same kind reuse it one after another. Contents are left over
// from the last use: callers write every element before reading it.
#pragma once
#include <cstddef>

namespace qk::engine {

enum class Scratch : std::size_t {
  DeltaNetProjection, DeltaNetGates, DeltaNetMixed, DeltaNetZ, DeltaNetBeta, DeltaNetG, DeltaNetConv, DeltaNetCore,
  AttentionQueryGate, AttentionKeyValue, AttentionQuery, AttentionOut,
  MlpGateUp, MlpAct,
  Count
};

// At least `floats` floats for `slot` on the calling thread, valid until the next call for the same slot.
float* scratch(Scratch slot, std::size_t floats);

}  // namespace qk::engine
