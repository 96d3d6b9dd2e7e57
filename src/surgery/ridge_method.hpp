// The second reading of QK-Pro (shared/notes/method.md, secondary source): keep base W_K and move
// SFT's W_Q toward base's by ridge least squares,
//     W_Q' = W_Q^sft + (W_Q^base - W_Q^sft) (G + lambda I)^-1 G,   G = W_K^base^T W_K^base  [d x d],
// the minimiser of ||(W_Q' - W_Q^base) W_K^base^T||^2 + lambda ||W_Q' - W_Q^sft||^2 per query head
// (W_K of the head's KV group). It matches W_Q W_K^T, not the RoPE'd bilinear form; as lambda -> 0
// it keeps SFT's part of W_Q outside the row space of W_K (docs/qkpro.md), as lambda -> inf it is SFT.
#pragma once
#include "surgery/method.hpp"

namespace qk {

class RidgeMethod final : public SurgeryMethod {
 public:
  explicit RidgeMethod(double lambda);
  std::string name() const override { return "ridge"; }
  nlohmann::json options() const override { return {{"lambda", lambda_}}; }
  std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const override;

 private:
  double lambda_;
};

}  // namespace qk
