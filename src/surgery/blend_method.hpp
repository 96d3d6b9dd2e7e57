// Linear blend of the planned rows: W = alpha * W_base + (1 - alpha) * W_sft, elementwise in float,
// stored in SFT's dtype. alpha = 1 is restore, alpha = 0 is SFT; a per-layer alpha overrides the default,
// and a planned tensor's own weight (--take CLASS@L:W) overrides both.
#pragma once
#include <map>

#include "surgery/method.hpp"
#include "util/error.hpp"

namespace qk {

// The planned rows of `pair` as alpha * base + (1 - alpha) * SFT, in float, rounded to SFT's dtype,
// written over `out` (which holds SFT's bytes): blend's arithmetic, also restore's for a --take weight.
void blend_rows(const TensorPair& pair, float alpha, std::span<std::byte> out);

// `alpha` when it lies in [0, 1], else Error(kind) "WHERE: alpha A must lie in [0, 1] ...".
double checked_alpha(double alpha, const std::string& where, ErrorKind kind = ErrorKind::Usage);

class BlendMethod final : public SurgeryMethod {
 public:
  explicit BlendMethod(double alpha, std::map<int, double> layer_alphas = {});
  MethodSpec spec() const override;
  std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const override;

  double alpha_for(int layer) const;
  const std::map<int, double>& layer_alphas() const { return layer_alphas_; }

 private:
  double alpha_;
  std::map<int, double> layer_alphas_;
};

}  // namespace qk
