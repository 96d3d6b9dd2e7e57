#include "arch/layout.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "arch/expression.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

using nlohmann::json;

const json* lookup_path(const json& root, std::string_view path) {
  const json* node = &root;
  while (!path.empty()) {
    std::size_t dot = path.find('.');
    std::string key(path.substr(0, dot));
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return node->is_null() ? nullptr : node;
}

std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

std::string unsupported_model_type_message(std::string_view model_type, const FamilyTable& table, const std::string& label) {
  return fmt::format(
      "{}: model_type '{}' is not in the architecture table. Supported: {}. For another family, describe it in a "
      "JSON file in the families.json schema and pass --arch-file FILE, or choose the tensors yourself with "
      "--layers and --tensors REGEX.",
      label, model_type, fmt::join(table.model_types(), ", "));
}

ModelLayout::ModelLayout(const json& config, const FamilyTable& table, const std::string& label)
    : label_(label), config_(config) {
  if (!config_.is_object() || !config_.contains("model_type") || !config_["model_type"].is_string())
    fail(ErrorKind::Format, "{}: missing string field 'model_type'", label);
  model_type_ = config_["model_type"].get<std::string>();
  family_ = table.find(model_type_);
  if (!family_) throw Error(ErrorKind::Unsupported, unsupported_model_type_message(model_type_, table, label));
  root_ = &config_;
  if (!family_->config_root.empty() && config_.contains(family_->config_root) && config_[family_->config_root].is_object())
    root_ = &config_[family_->config_root];

  const std::int64_t count = layer_count();
  if (count <= 0 || count > 100000) fail(ErrorKind::Format, "{}: layer count {} is out of range", label, count);
  layers_.resize(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) layers_[i].index = i;

  for (const auto& source : family_->kind_sources) {
    const json* node = lookup_path(*root_, source.key);
    if (!node) node = lookup_path(config_, source.key);
    if (!node) continue;
    kinds_source_ = source.key;
    auto kind_of = [&](const std::string& v, int i) {
      auto it = source.values.find(v);
      if (it == source.values.end()) {
        std::vector<std::string> known;  // not std::views::keys: clang 14 with libstdc++ 12 rejects it (fuzz build)
        for (const auto& entry : source.values) known.push_back(entry.first);
        fail(ErrorKind::Format, "{}: {}[{}] = '{}' is not a known layer type for {} (known: {})", label, source.key, i, v,
             model_type_, fmt::join(known, ", "));
      }
      return it->second;
    };
    switch (source.type) {
      case LayerKindSource::Type::List: {
        if (!node->is_array() || node->size() != layers_.size())
          fail(ErrorKind::Format, "{}: '{}' must list {} layer types, one per layer, but has {}", label, source.key,
               layers_.size(), node->is_array() ? node->size() : 0);
        for (int i = 0; i < count; ++i) {
          layers_[i].config_value = value_text((*node)[i]);
          layers_[i].kind = kind_of(layers_[i].config_value, i);
        }
        break;
      }
      case LayerKindSource::Type::Pattern: {
        if (!node->is_string() || node->get<std::string>().size() != layers_.size())
          fail(ErrorKind::Format, "{}: '{}' must be a string of {} characters, one per layer", label, source.key, layers_.size());
        const std::string pattern = node->get<std::string>();
        for (int i = 0; i < count; ++i) {
          layers_[i].config_value = std::string(1, pattern[i]);
          layers_[i].kind = kind_of(layers_[i].config_value, i);
        }
        break;
      }
      case LayerKindSource::Type::Period:
      case LayerKindSource::Type::Every: {
        const std::int64_t n = require_int(source.key, source.key);
        const std::int64_t offset = source.type == LayerKindSource::Type::Period ? require_int(source.offset_key, source.offset_key) : 0;
        if (n <= 0) fail(ErrorKind::Format, "{}: '{}' must be positive", label, source.key);
        for (int i = 0; i < count; ++i) {
          bool hit = source.type == LayerKindSource::Type::Period ? i % n == offset : (i + 1) % n == 0;
          layers_[i].kind = hit ? source.hit : source.miss;
          layers_[i].config_value = fmt::format("{}={}", source.key, n);
        }
        break;
      }
      case LayerKindSource::Type::Indices: {
        if (!node->is_array()) fail(ErrorKind::Format, "{}: '{}' must be a list of layer indices", label, source.key);
        for (auto& layer : layers_) {
          layer.kind = source.miss;
          layer.config_value = "not in " + source.key;
        }
        for (const auto& v : *node) {
          if (!v.is_number_integer()) fail(ErrorKind::Format, "{}: '{}' holds a non-integer {}", label, source.key, v.dump());
          // Compared before subtracting the base: a value near the int64 limits must not overflow.
          // An unsigned value past int64 would wrap when read as one: it is too large before it is read.
          const bool too_large = v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(count);
          const std::int64_t index = v.get<std::int64_t>();
          if (too_large || index < source.base || index >= source.base + count)
            fail(ErrorKind::Format, "{}: '{}' names layer {} but the model has {} layers", label, source.key, v.dump(), count);
          layers_[index - source.base].kind = source.hit;
          layers_[index - source.base].config_value = "in " + source.key;
        }
        break;
      }
    }
    return;
  }
  if (!family_->default_kind) {
    std::vector<std::string> keys;
    for (const auto& s : family_->kind_sources) keys.push_back(s.key);
    fail(ErrorKind::Format, "{}: {} needs one of these config keys to tell the layer types: {}", label, model_type_,
         fmt::join(keys, ", "));
  }
  kinds_source_ = "(every layer)";
  for (auto& layer : layers_) {
    layer.kind = *family_->default_kind;
    layer.config_value = "";
  }
}

std::optional<double> ModelLayout::value(std::string_view name) const {
  // Inside the expression of dim X, the name X means config.json's own key X ("head_dim ?? ...").
  auto dim = family_->dims.find(std::string(name));
  const bool evaluating = std::find(evaluating_.begin(), evaluating_.end(), name) != evaluating_.end();
  if (dim != family_->dims.end() && !evaluating) {
    if (evaluating_.size() > 32) fail(ErrorKind::Format, "architecture table: dims of {} refer to each other in a loop", model_type_);
    evaluating_.emplace_back(name);
    std::optional<double> result;
    try {
      result = evaluate(dim->second);
    } catch (...) {
      evaluating_.pop_back();
      throw;
    }
    evaluating_.pop_back();
    return result;
  }
  const json* node = lookup_path(*root_, name);
  if (!node) node = lookup_path(config_, name);
  if (!node) return std::nullopt;
  if (node->is_boolean()) return node->get<bool>() ? 1.0 : 0.0;
  if (node->is_number()) return node->get<double>();
  return std::nullopt;
}

// The layer count from its config key, or else from the length of a per-layer list or pattern
// (transformers 5 writes nemotron_h's layers_block_type without num_hidden_layers).
std::int64_t ModelLayout::layer_count() const {
  if (evaluate(family_->layer_count)) return require_int(family_->layer_count, "the layer count");
  for (const auto& source : family_->kind_sources) {
    if (source.type != LayerKindSource::Type::List && source.type != LayerKindSource::Type::Pattern) continue;
    const json* node = lookup_path(*root_, source.key);
    if (!node) node = lookup_path(config_, source.key);
    if (node && node->is_array()) return static_cast<std::int64_t>(node->size());
    if (node && node->is_string()) return static_cast<std::int64_t>(node->get<std::string>().size());
  }
  return require_int(family_->layer_count, "the layer count");
}

std::optional<double> ModelLayout::evaluate(std::string_view expression) const {
  return evaluate_expression(expression, [this](std::string_view name) { return value(name); });
}

std::int64_t ModelLayout::require_int(std::string_view expression, std::string_view what) const {
  auto v = optional_int(expression, what);
  if (!v) fail(ErrorKind::Format, "{}: cannot work out {} for {}: config.json lacks a field of '{}'", label_, what, model_type_, expression);
  return *v;
}

std::optional<std::int64_t> ModelLayout::optional_int(std::string_view expression, std::string_view what) const {
  auto v = evaluate(expression);
  if (!v) return std::nullopt;
  double rounded = std::round(*v);
  if (std::fabs(rounded - *v) > 1e-9)
    fail(ErrorKind::Format, "{}: {} = '{}' is {}, not a whole number", label_, what, expression, *v);
  // Beyond 2^53 a double no longer holds every whole number, and past 2^63 the cast is undefined;
  // no dimension or count of a real model comes near either.
  if (std::fabs(rounded) > 9007199254740992.0)
    fail(ErrorKind::Format, "{}: {} = '{}' is {}, out of range", label_, what, expression, *v);
  return static_cast<std::int64_t>(rounded);
}

std::int64_t ModelLayout::rotary_dim() const {
  if (!family_->position.rope) return 0;
  if (!family_->position.nope_when_key.empty()) {
    const json* node = lookup_path(*root_, family_->position.nope_when_key);
    if (node && value_text(*node) == family_->position.nope_when_value) return 0;
  }
  return require_int(family_->position.rotary_dim, "the rotary dimension");
}

}  // namespace qk
