#include "surgery/blend_method.hpp"

#include <fmt/format.h>

#include "surgery/tensor_rows.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

void check_alpha(double alpha, const std::string& where) {
  if (!(alpha >= 0 && alpha <= 1)) fail(ErrorKind::Usage, "{}: alpha {} must lie in [0, 1] (1: base, 0: SFT)", where, alpha);
}

}  // namespace

BlendMethod::BlendMethod(double alpha, std::map<int, double> layer_alphas) : alpha_(alpha), layer_alphas_(std::move(layer_alphas)) {
  check_alpha(alpha_, "--alpha");
  for (const auto& [layer, a] : layer_alphas_) check_alpha(a, fmt::format("layer {}", layer));
}

nlohmann::json BlendMethod::options() const {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [layer, a] : layer_alphas_) layers[std::to_string(layer)] = a;
  return {{"alpha", alpha_}, {"layers", layers}};
}

BlendMethod BlendMethod::from_options(const nlohmann::json& options) {
  std::map<int, double> layers;
  if (options.contains("layers"))
    for (const auto& [key, value] : options["layers"].items()) layers[std::stoi(key)] = value.get<double>();
  return BlendMethod(options.value("alpha", 1.0), layers);
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
  const nlohmann::json j = read_json_file(path);
  if (!j.is_object()) fail(ErrorKind::Format, "{}: a blend file is a JSON object like {{\"alpha\": 0.5, \"layers\": {{\"3\": 1.0}}}}", path);
  double alpha = default_alpha;
  if (j.contains("alpha")) {
    if (!j["alpha"].is_number()) fail(ErrorKind::Format, "{}: field 'alpha' must be a number", path);
    alpha = j["alpha"].get<double>();
  }
  std::map<int, double> layers;
  if (j.contains("layers")) {
    if (!j["layers"].is_object()) fail(ErrorKind::Format, "{}: field 'layers' must map layer indices to alphas", path);
    for (const auto& [key, value] : j["layers"].items()) {
      std::size_t used = 0;
      int layer = -1;
      try {
        layer = std::stoi(key, &used);
      } catch (const std::exception&) {
      }
      if (layer < 0 || used != key.size()) fail(ErrorKind::Format, "{}: layers key '{}' is not a layer index", path, key);
      if (!value.is_number()) fail(ErrorKind::Format, "{}: layers.{} must be a number", path, key);
      layers[layer] = value.get<double>();
    }
  }
  for (const auto& key : j.items())
    if (key.key() != "alpha" && key.key() != "layers") fail(ErrorKind::Format, "{}: unknown field '{}' (expected alpha, layers)", path, key.key());
  return BlendMethod(alpha, layers);
}

}  // namespace qk
