#include "surgery/blend_method.hpp"

#include <fmt/format.h>

#include "surgery/tensor_rows.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

double checked_alpha(double alpha, const std::string& where, ErrorKind kind = ErrorKind::Usage) {
  if (!(alpha >= 0 && alpha <= 1)) fail(kind, "{}: alpha {} must lie in [0, 1] (1: base, 0: SFT)", where, alpha);
  return alpha;
}

}  // namespace

BlendMethod::BlendMethod(double alpha, std::map<int, double> layer_alphas) : alpha_(alpha), layer_alphas_(std::move(layer_alphas)) {
  checked_alpha(alpha_, "--alpha");
  for (const auto& [layer, a] : layer_alphas_) checked_alpha(a, fmt::format("layer {}", layer));
}

nlohmann::json BlendMethod::options() const {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [layer, a] : layer_alphas_) layers[std::to_string(layer)] = a;
  return {{"alpha", alpha_}, {"layers", layers}};
}

BlendMethod BlendMethod::from_options(const nlohmann::json& options, const std::string& where, double default_alpha) {
  if (!options.is_object()) fail(ErrorKind::Format, "{}: blend options are a JSON object like {{\"alpha\": 0.5, \"layers\": {{\"3\": 1.0}}}}", where);
  for (const auto& [key, value] : options.items())
    if (key != "alpha" && key != "layers") fail(ErrorKind::Format, "{}: unknown field '{}' (expected alpha, layers)", where, key);
  std::map<int, double> layers;
  if (options.contains("layers"))
    for (const auto& [key, value] : object_field(options, "layers", where).items()) {
      const std::string field = fmt::format("{}: layers.{}", where, key);
      layers[parse_layer_index(key, field)] = checked_alpha(json_as<double>(value, field), field, ErrorKind::Format);
    }
  return BlendMethod(checked_alpha(number_field(options, "alpha", where, default_alpha), where, ErrorKind::Format), layers);
}

double BlendMethod::alpha_for(int layer) const {
  auto it = layer_alphas_.find(layer);
  return it == layer_alphas_.end() ? alpha_ : it->second;
}

std::vector<std::vector<std::byte>> BlendMethod::compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan&) const {
  auto outputs = copy_sft_bytes(tensors);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorPair& pair = tensors[i];
    const float alpha = static_cast<float>(alpha_for(pair.plan->layer));
    std::vector<RowRange> rows = pair.plan->rows;
    if (rows.empty()) rows.push_back({0, pair.plan->total_rows});
    for (const auto& r : rows) {
      const RowMatrix base = decode_rows(pair.base, r.begin, r.end - r.begin);
      const RowMatrix sft = decode_rows(pair.sft, r.begin, r.end - r.begin);
      const RowMatrix out = alpha * base + (1.0f - alpha) * sft;
      encode_rows(out, *pair.sft.info, outputs[i], r.begin);
    }
  }
  return outputs;
}

BlendMethod read_blend_file(const std::string& path, double default_alpha) {
  return BlendMethod::from_options(read_json_file(path), path, default_alpha);
}

}  // namespace qk
