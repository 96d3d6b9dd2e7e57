// Per-channel q/k norm weights (RMSNorm after the projection, before RoPE) break QK-Pro's exact
// invariance: the logits see n(W_Q x)^T D_q R(t) D_k n(W_K y), and the rotation turns n(W x) into
// O n(W x) (an orthogonal map keeps the RMS), so the routing becomes O^T D_q R(t) D_k O instead of
// D_q R(t) D_k. This measures how far, with the norm weights the output carries.
#pragma once
#include <vector>

#include "surgery/procrustes_method.hpp"

namespace qk {

struct NormDeviation {
  int layer = -1;
  int group = -1;          // as in GroupAlignment
  double max_relative = 0;  // max over query heads and offsets t of ||O^T F O - F||_F / ||F||_F, F = D_q R(t) D_k
};

// rope_theta of config.json (rope_parameters.rope_theta, rope_theta, in text_config too; default 10000).
double rope_theta(const nlohmann::json& config);

// Offsets t at which the deviation is measured (RoPE angle t * theta^(-2j/r) per pair j).
const std::vector<double>& norm_deviation_offsets();

// For every alignment of a layer that has q/k norm weights: their deviation. Norm weights are
// base's when options.with_qk_norm (they are then restored with the Q/K rows), else SFT's.
// rope_theta from config.json (rope_parameters.rope_theta, rope_theta, default 10000).
std::vector<NormDeviation> qk_norm_deviation(const Checkpoint& base, const Checkpoint& sft, const Selection& options,
                                             const FamilyTable& table, const std::vector<GroupAlignment>& alignments);

}  // namespace qk
