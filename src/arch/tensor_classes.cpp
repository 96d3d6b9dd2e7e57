#include "arch/tensor_classes.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {

extern const char* const kBuiltinFamiliesJson;

const TensorClasses& TensorClasses::builtin() {
  static const TensorClasses classes =
      from_json(parse_json(kBuiltinFamiliesJson, "built-in families.json")["defaults"], "built-in families.json: defaults");
  return classes;
}

TensorClasses TensorClasses::from_json(const nlohmann::json& defaults, const std::string& label) {
  TensorClasses result;
  for (const auto& [name, entry] : object_field(defaults, "tensor_classes", label).items()) {
    if (name.front() == '_') continue;  // "_comment"
    const std::string where = fmt::format("{}: tensor_classes.{}", label, name);
    TensorClassInfo info;
    info.name = name;
    info.about = string_field(entry, "about", where);
    info.per_layer = bool_field(entry, "per_layer", where, true);
    const std::string side = optional_string_field(entry, "per_head", where).value_or("");
    if (!side.empty() && side != "q" && side != "k") fail(ErrorKind::Format, "{}: per_head must be \"q\" or \"k\"", where);
    info.per_head = side.empty() ? 0 : side[0];
    result.leaves_.push_back(info);
  }
  for (const auto& [name, members] : object_field(defaults, "class_groups", label).items()) {
    if (name.front() == '_') continue;
    const std::string where = fmt::format("{}: class_groups.{}", label, name);
    auto list = json_as<std::vector<std::string>>(members, where);
    for (const auto& m : list)
      if (!result.leaf(m)) fail(ErrorKind::Format, "{}: '{}' is not a leaf of tensor_classes", where, m);
    if (result.leaf(name)) fail(ErrorKind::Format, "{}: a group cannot have a leaf's name", where);
    result.groups_[name] = std::move(list);
  }
  return result;
}

const TensorClassInfo* TensorClasses::leaf(std::string_view name) const {
  for (const auto& info : leaves_)
    if (info.name == name) return &info;
  return nullptr;
}

std::vector<std::string> TensorClasses::expand(std::string_view name) const {
  if (leaf(name)) return {std::string(name)};
  auto it = groups_.find(std::string(name));
  return it == groups_.end() ? std::vector<std::string>{} : it->second;
}

bool TensorClasses::per_layer(std::string_view name) const {
  const auto members = expand(name);
  const auto in_layers = std::count_if(members.begin(), members.end(), [&](const std::string& m) { return leaf(m)->per_layer; });
  if (in_layers != 0 && in_layers != static_cast<long>(members.size()))
    fail(ErrorKind::Usage, "class group '{}' mixes classes inside and outside the layer stack", name);
  return in_layers > 0;
}

bool TensorClasses::per_head(std::string_view name) const {
  const auto members = expand(name);
  return !members.empty() && std::all_of(members.begin(), members.end(), [&](const std::string& m) { return leaf(m)->per_head != 0; });
}

std::vector<std::string> TensorClasses::leaves() const {
  std::vector<std::string> names;
  for (const auto& info : leaves_) names.push_back(info.name);
  return names;
}

std::vector<std::string> TensorClasses::groups() const {
  std::vector<std::string> names;
  for (const auto& [name, _] : groups_) names.push_back(name);
  return names;
}

std::string TensorClasses::choices() const { return fmt::format("{} (groups: {})", fmt::join(leaves(), " "), fmt::join(groups(), " ")); }

}  // namespace qk
