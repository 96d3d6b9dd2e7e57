// Linear blend of the planned rows: W = alpha * W_base + (1 - alpha) * W_sft, elementwise in float,
// stored in SFT's dtype. alpha = 1 is restore, alpha = 0 is SFT; a per-layer alpha overrides the default.
#pragma once
#include <map>

#include "surgery/method.hpp"

namespace qk {

class BlendMethod final : public SurgeryMethod {
 public:
  explicit BlendMethod(double alpha, std::map<int, double> layer_alphas = {});
  std::string name() const override { return "blend"; }
  nlohmann::json options() const override;
  std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const override;

  double alpha_for(int layer) const;
  const std::map<int, double>& layer_alphas() const { return layer_alphas_; }
  // {"alpha": 0.5, "layers": {"3": 1.0, "11": 0.25}} (both keys optional), as options() writes it;
  // throws Error(Format) naming `where` and the field.
  static BlendMethod from_options(const nlohmann::json& options, const std::string& where, double default_alpha = 1.0);

 private:
  double alpha_;
  std::map<int, double> layer_alphas_;
};

// Reads a blend file (the form of from_options).
BlendMethod read_blend_file(const std::string& path, double default_alpha);

}  // namespace qk
