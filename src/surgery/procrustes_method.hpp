// QK-Pro: base W_Q/W_K turned by the RoPE-commuting rotation that brings them closest to SFT's, so
// the base model's query-key bilinear forms (its routing) are kept exactly while the weights stay as
// close to SFT's as that allows. --alpha blends the aligned weights with SFT's.
#pragma once
#include <string>
#include <vector>

#include "surgery/method.hpp"
#include "surgery/procrustes_group.hpp"
#include "surgery/procrustes_solver.hpp"

namespace qk {

enum class Granularity { Group, Layer };  // one rotation per KV group, or one shared by the whole layer
Granularity parse_granularity(const std::string& text);
const char* granularity_name(Granularity g);

// What one rotation did, for the command's table and the tests. Squared Frobenius norms summed
// over the group's query and key rows (weights and biases).
struct GroupAlignment {
  int layer = -1;
  int group = -1;  // KV group, or -1 for --granularity layer
  double restore_to_sft = 0;  // ||A - B||^2: plain restore's distance to SFT
  double aligned_to_sft = 0;  // ||O A - B||^2
  double sft = 0;             // ||B||^2
  RopeCommutingRotation rotation;
};

class ProcrustesMethod final : public SurgeryMethod {
 public:
  ProcrustesMethod(double alpha, Granularity granularity);
  std::string name() const override { return "procrustes"; }
  nlohmann::json options() const override;
  std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const override;

  // Every rotation computed so far, in order (the output writer calls compute_layer once per layer).
  const std::vector<GroupAlignment>& alignments() const { return alignments_; }

 private:
  double alpha_;
  Granularity granularity_;
  mutable std::vector<GroupAlignment> alignments_;
  // Work buffers kept from one layer to the next (every global layer has the same shapes).
  mutable std::vector<GroupRows> groups_;
};

// The global layers' rotary dimension as QK-Pro uses it: refuses sliding layers (their RoPE may
// differ from the global layers'), an odd or too large rotary_dim, and MLA/adapters (no per-head W_K).
void check_rope_geometry(const SurgeryPlan& plan, int layer, const char* method);

}  // namespace qk
