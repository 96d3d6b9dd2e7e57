// QK-Pro: base W_Q/W_K turned by the RoPE-commuting rotation that brings them closest to SFT's, so
// the base model's query-key bilinear forms (its routing) are kept exactly while the weights stay as
// close to SFT's as that allows. --alpha blends the aligned weights with SFT's.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "surgery/method.hpp"
#include "surgery/procrustes_solver.hpp"
#include "surgery/tensor_rows.hpp"

namespace qk {

// One KV group's query and key rows side by side, in float: row k of the group matrix holds
// dimension k of every member (its query heads, their biases, its key head and bias), so the sums
// over the group's heads that QK-Pro needs (M = sum_i B_i A_i^T, and O A_i for every i) are a few
// large GEMMs over all columns instead of many small ones (procrustes_group.cpp).

// Where one head's rows sit: in its tensor (HeadBlock) and among the group's columns.
struct GroupMember {
  HeadBlock where;
  std::int64_t first_column = 0;
  std::int64_t width = 0;  // elements per row of the tensor: the input dim, or 1 for a bias
};

struct GroupRows {
  std::vector<GroupMember> members;
  std::int64_t columns = 0;  // sum of the members' widths
  RowMatrix base, sft;       // [head_dim x columns]
};

// Every planned KV group of a layer (layout.kv_groups, in that order): query heads in order (each followed by its bias), then the key head
// and its bias. Decoded in parallel (one item per member); nothing else is read. `groups` keeps
// its matrices from the previous layer: same shapes are reused, not allocated and faulted in again.
void load_groups(std::span<const TensorPair> tensors, const QkLayerLayout& layout, std::vector<GroupRows>& groups);

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
  MethodSpec spec() const override;
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

// The second reading of QK-Pro (shared/notes/method.md, secondary source): keep base W_K and move
// SFT's W_Q toward base's by ridge least squares,
//     W_Q' = W_Q^sft + (W_Q^base - W_Q^sft) (G + lambda I)^-1 G,   G = W_K^base^T W_K^base  [d x d],
// the minimiser of ||(W_Q' - W_Q^base) W_K^base^T||^2 + lambda ||W_Q' - W_Q^sft||^2 per query head
// (W_K of the head's KV group). It matches W_Q W_K^T, not the RoPE'd bilinear form; as lambda -> 0
// it keeps SFT's part of W_Q outside the row space of W_K (docs/qkpro.md), as lambda -> inf it is SFT.
class RidgeMethod final : public SurgeryMethod {
 public:
  explicit RidgeMethod(double lambda);
  MethodSpec spec() const override;
  std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const override;

 private:
  double lambda_;
};

}  // namespace qk
