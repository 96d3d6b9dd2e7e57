// What a config.json says about one model, read through its family profile: each layer's kind and
// the dimensions the tensor templates need.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/profile.hpp"

namespace qk {

struct LayerInfo {
  int index = 0;
  LayerKind kind = LayerKind::Global;
  std::string config_value;  // what config.json said for this layer ("full_attention", "*", ...)
};

class ModelLayout {
 public:
  // Throws Error(Unsupported) for an unknown model_type (listing the supported ones) and
  // Error(Format) naming `label` and the config field that is missing or malformed.
  ModelLayout(const nlohmann::json& config, const FamilyTable& table, const std::string& label);

  const FamilyProfile& family() const { return *family_; }
  const std::string& model_type() const { return model_type_; }
  const std::string& label() const { return label_; }  // the config.json it was read from, for messages
  int num_layers() const { return static_cast<int>(layers_.size()); }
  const std::vector<LayerInfo>& layers() const { return layers_; }
  const std::string& kinds_source() const { return kinds_source_; }  // the config key that decided the kinds

  // A dims entry or a dotted config key (looked up in the config root, then the top level).
  std::optional<double> value(std::string_view name) const;
  std::int64_t require_int(std::string_view expression, std::string_view what) const;  // throws naming the field
  // As require_int, but nullopt when config.json lacks a field the expression needs.
  std::optional<std::int64_t> optional_int(std::string_view expression, std::string_view what) const;
  std::optional<double> evaluate(std::string_view expression) const;

  // The global layers' rotary dimension (0 for NoPE), as QK-Pro needs it.
  std::int64_t rotary_dim() const;

 private:
  const FamilyProfile* family_;
  std::string model_type_;
  std::string label_;
  nlohmann::json config_;
  const nlohmann::json* root_;
  std::vector<LayerInfo> layers_;
  std::string kinds_source_;
  std::int64_t layer_count() const;
  mutable std::vector<std::string> evaluating_;  // dims being evaluated, innermost last
};

// The message for an unknown model_type, listing the supported families and the override flags.
std::string unsupported_model_type_message(std::string_view model_type, const FamilyTable& table, const std::string& label);

}  // namespace qk
