#include "surgery/blend_method.hpp"

#include <fmt/format.h>

#include "surgery/tensor_rows.hpp"
#include "util/error.hpp"

namespace qk {
double checked_alpha(double alpha, const std::string& where, ErrorKind kind) {
  if (!(alpha >= 0 && alpha <= 1)) fail(kind, "{}: alpha {} must lie in [0, 1] (1: base, 0: SFT)", where, alpha);
  return alpha;
}

BlendMethod::BlendMethod(double alpha, std::map<int, double> layer_alphas) : alpha_(alpha), layer_alphas_(std::move(layer_alphas)) {
  checked_alpha(alpha_, "--alpha");
  for (const auto& [layer, a] : layer_alphas_) checked_alpha(a, fmt::format("layer {}", layer));
}

MethodSpec BlendMethod::spec() const {
  MethodSpec m = MethodSpec::defaults(MethodKind::Blend);
  m.alpha = alpha_;
  m.layer_alphas = layer_alphas_;
  return m;
}

double BlendMethod::alpha_for(int layer) const {
  auto it = layer_alphas_.find(layer);
  return it == layer_alphas_.end() ? alpha_ : it->second;
}

void blend_rows(const TensorPair& pair, float alpha, std::span<std::byte> out) {
  std::vector<RowRange> rows = pair.plan->rows;
  if (rows.empty()) rows.push_back({0, pair.plan->total_rows});
  for (const auto& r : rows) {
    const RowMatrix base = decode_rows(pair.base, r.begin, r.end - r.begin);
    const RowMatrix sft = decode_rows(pair.sft, r.begin, r.end - r.begin);
    const RowMatrix mixed = alpha * base + (1.0f - alpha) * sft;
    encode_rows(mixed, *pair.sft.info, out, r.begin);
  }
}

std::vector<std::vector<std::byte>> BlendMethod::compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan&) const {
  auto outputs = copy_sft_bytes(tensors);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorPair& pair = tensors[i];
    blend_rows(pair, static_cast<float>(pair.plan->weight.value_or(alpha_for(pair.plan->layer))), outputs[i]);
  }
  return outputs;
}

}  // namespace qk
