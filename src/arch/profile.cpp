#include "arch/profile.hpp"

#include <regex>

#include "arch/tensor_classes.hpp"
#include "io/checkpoint.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {

extern const char* const kBuiltinFamiliesJson;

namespace {

using nlohmann::json;

struct Context {
  const std::string& label;
  std::string where;
  [[noreturn]] void error(std::string_view what) const { fail(ErrorKind::Format, "{}: {}: {}", label, where, what); }
  std::string field(const char* key) const { return fmt::format("{}: {}: '{}'", label, where, key); }
};

std::string get_string(const json& object, const char* key, const Context& ctx, std::string fallback = "") {
  if (!object.contains(key)) return fallback;
  if (object[key].is_string()) return object[key].get<std::string>();
  if (object[key].is_number()) return object[key].dump();
  ctx.error(fmt::format("'{}' must be a string", key));
}

LayerKind get_kind(const json& value, const Context& ctx) {
  if (!value.is_string()) ctx.error("a layer kind must be a string");
  auto kind = parse_layer_kind(value.get<std::string>());
  if (!kind) ctx.error(fmt::format("unknown layer kind '{}' (global, sliding, linear, mlp, moe)", value.get<std::string>()));
  return *kind;
}

LayerKindSource parse_kind_source(const json& j, const Context& ctx) {
  LayerKindSource source;
  static const std::pair<const char*, LayerKindSource::Type> kTypes[] = {
      {"list", LayerKindSource::Type::List},     {"pattern", LayerKindSource::Type::Pattern},
      {"period", LayerKindSource::Type::Period}, {"every", LayerKindSource::Type::Every},
      {"indices", LayerKindSource::Type::Indices}};
  bool found = false;
  for (auto [key, type] : kTypes) {
    if (j.contains(key)) {
      source.type = type;
      source.key = get_string(j, key, ctx);
      found = true;
    }
  }
  if (!found) ctx.error("a layer_kinds source needs one of list, pattern, period, every, indices");
  if (j.contains("values")) {
    for (const auto& [value, kind] : j["values"].items()) source.values[value] = get_kind(kind, ctx);
  }
  if ((source.type == LayerKindSource::Type::List || source.type == LayerKindSource::Type::Pattern) && source.values.empty())
    ctx.error(fmt::format("source '{}' needs a 'values' map", source.key));
  source.offset_key = get_string(j, "offset", ctx, "0");
  source.base = field_or<int>(j, "base", ctx.field("layer_kinds"), 0);
  if (j.contains("hit")) source.hit = get_kind(j["hit"], ctx);
  if (j.contains("miss")) source.miss = get_kind(j["miss"], ctx);
  return source;
}

TensorTemplate parse_tensor_template(const json& j, const Context& ctx) {
  TensorTemplate t;
  const std::string side = get_string(j, "side", ctx);
  if (side != "q" && side != "k") ctx.error("'side' must be \"q\" or \"k\"");
  t.side = side[0];
  const std::string part = get_string(j, "part", ctx, "weight");
  if (part == "weight") t.part = TensorPart::Weight;
  else if (part == "bias") t.part = TensorPart::Bias;
  else if (part == "norm") t.part = TensorPart::Norm;
  else ctx.error(fmt::format("'part' must be weight, bias or norm, not '{}'", part));
  t.name = get_string(j, "name", ctx);
  t.match = get_string(j, "match", ctx);
  if (t.name.empty() == t.match.empty()) ctx.error("a tensor needs exactly one of 'name' and 'match'");
  t.optional = bool_field(j, "optional", ctx.field("global_tensors"), false);
  t.rest = get_string(j, "rest", ctx);
  if (!t.rest.empty() && !TensorClasses::builtin().leaf(t.rest))
    ctx.error(fmt::format("'rest' names '{}', which is not a tensor class ({})", t.rest, TensorClasses::builtin().choices()));
  if (j.contains("gated")) t.gated = j["gated"].is_boolean() ? (j["gated"].get<bool>() ? "1" : "0") : get_string(j, "gated", ctx);
  if (j.contains("rows")) {
    const json& r = j["rows"];
    RowBlocksSpec rows;
    rows.count = get_string(r, "count", ctx, "1");
    rows.block = get_string(r, "block", ctx);
    if (rows.block.empty()) ctx.error(fmt::format("tensor '{}': rows need a 'block'", t.name));
    rows.stride = get_string(r, "stride", ctx);
    rows.offset = get_string(r, "offset", ctx, "0");
    t.rows = rows;
  }
  return t;
}

const json& builtin_defaults();

ClassTemplate parse_class_template(const json& j, const Context& ctx) {
  if (!j.is_object()) ctx.error("a 'classes' entry is the name of a class set or an object {class, match | outside, kinds}");
  ClassTemplate c;
  c.tensor_class = get_string(j, "class", ctx);
  if (!TensorClasses::builtin().leaf(c.tensor_class))
    ctx.error(fmt::format("'classes' names '{}', which is not a tensor class ({})", c.tensor_class, TensorClasses::builtin().choices()));
  const std::string match = get_string(j, "match", ctx), outside = get_string(j, "outside", ctx);
  if (match.empty() == outside.empty()) ctx.error(fmt::format("class {}: give exactly one of 'match' and 'outside'", c.tensor_class));
  c.outside = !outside.empty();
  c.match = c.outside ? outside : match;
  if (c.outside == TensorClasses::builtin().leaf(c.tensor_class)->per_layer)
    ctx.error(fmt::format("class {} lies {} the layer stack: use '{}'", c.tensor_class, c.outside ? "in" : "outside", c.outside ? "match" : "outside"));
  try {
    std::regex check(c.match);
  } catch (const std::regex_error& e) {
    ctx.error(fmt::format("class {}: '{}' is not a valid regular expression: {}", c.tensor_class, c.match, e.what()));
  }
  if (j.contains("kinds"))
    for (const auto& kind : j["kinds"]) c.kinds.push_back(get_kind(kind, ctx));
  return c;
}

// "classes": names of lists in defaults.class_sets (the file's, then the built-in ones) and templates.
std::vector<ClassTemplate> parse_classes(const json& list, const json& defaults, const Context& ctx) {
  if (!list.is_array()) ctx.error("'classes' must be a list");
  std::vector<ClassTemplate> out;
  for (const auto& entry : list) {
    if (!entry.is_string()) {
      out.push_back(parse_class_template(entry, ctx));
      continue;
    }
    const std::string name = entry.get<std::string>();
    const json* sets = defaults.contains("class_sets") ? &defaults["class_sets"] : &builtin_defaults()["class_sets"];
    if (!sets->contains(name)) sets = &builtin_defaults()["class_sets"];
    if (!sets->contains(name)) ctx.error(fmt::format("'classes' names the set '{}', which defaults.class_sets does not define", name));
    for (const auto& t : (*sets)[name]) out.push_back(parse_class_template(t, ctx));
  }
  return out;
}

FamilyProfile parse_family(const std::string& model_type, const json& j, const json& defaults, const std::string& label) {
  Context ctx{label, "family '" + model_type + "'"};
  if (!j.is_object()) ctx.error("must be a JSON object");
  FamilyProfile f;
  f.model_type = model_type;
  f.description = get_string(j, "description", ctx);
  f.aliases = field_or<std::vector<std::string>>(j, "aliases", ctx.field("aliases"), {});
  f.config_root = get_string(j, "config_root", ctx);
  f.layer_count = get_string(j, "layer_count", ctx, get_string(defaults, "layer_count", ctx, "num_hidden_layers"));
  f.layer_prefixes = field_or<std::vector<std::string>>(j, "layers", ctx.field("layers"),
                                                        field_or<std::vector<std::string>>(defaults, "layers", label + ": defaults", {"model.layers"}));
  if (j.contains("layer_kinds"))
    for (const auto& s : j["layer_kinds"]) f.kind_sources.push_back(parse_kind_source(s, ctx));
  if (j.contains("default_kind")) f.default_kind = get_kind(j["default_kind"], ctx);
  f.ffn_tensors = field_or<std::vector<std::string>>(
      j, "ffn_tensors", ctx.field("ffn_tensors"),
      field_or<std::vector<std::string>>(defaults, "ffn_tensors", label + ": defaults",
                                         json_as<std::vector<std::string>>(builtin_defaults()["ffn_tensors"], "built-in families.json")));
  for (const auto* dims : {&defaults, &j})
    if (dims->contains("dims"))
      for (const auto& [k, v] : object_field(*dims, "dims", ctx.field("dims")).items()) f.dims[k] = json_as<std::string>(v, ctx.field("dims") + "." + k);

  const json& position = j.contains("position") ? j["position"] : defaults.value("position", json::object());
  const std::string kind = get_string(position, "kind", ctx, "rope");
  if (kind != "rope" && kind != "nope") ctx.error("position kind must be rope or nope");
  f.position.rope = kind == "rope";
  f.position.rotary_dim = get_string(position, "rotary_dim", ctx,
                                     get_string(defaults.value("position", json::object()), "rotary_dim", ctx, "head_dim"));
  if (position.contains("nope_when")) {
    f.position.nope_when_key = get_string(position["nope_when"], "key", ctx);
    f.position.nope_when_value = get_string(position["nope_when"], "equals", ctx);
  }

  if (!j.contains("global_tensors")) ctx.error("missing 'global_tensors'");
  const json* tensors = &j["global_tensors"];
  if (tensors->is_string()) {  // a named list from "defaults", e.g. "standard_qk"
    const std::string name = tensors->get<std::string>();
    if (!defaults.contains(name)) ctx.error(fmt::format("global_tensors names '{}', which 'defaults' does not define", name));
    tensors = &defaults[name];
  }
  for (const auto& t : *tensors) f.global_tensors.push_back(parse_tensor_template(t, ctx));
  if (j.contains("classes")) f.class_templates = parse_classes(j["classes"], defaults, ctx);
  if (j.contains("engine_tensors")) f.engine_tensors = EngineTensorNames::from_json(j["engine_tensors"], label + ": " + ctx.where);
  if (f.kind_sources.empty() && !f.default_kind) ctx.error("needs 'layer_kinds' or 'default_kind'");
  return f;
}

// A user's table may leave out "defaults" and still use the built-in ones ("standard_qk" ...).
const json& builtin_defaults() {
  static const json defaults = parse_json(kBuiltinFamiliesJson, "built-in families.json")["defaults"];
  return defaults;
}

}  // namespace

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::Global: return "global";
    case LayerKind::Sliding: return "sliding";
    case LayerKind::Linear: return "linear";
    case LayerKind::Mlp: return "mlp";
    case LayerKind::Moe: return "moe";
  }
  return "?";
}

std::optional<LayerKind> parse_layer_kind(std::string_view name) {
  for (LayerKind k : {LayerKind::Global, LayerKind::Sliding, LayerKind::Linear, LayerKind::Mlp, LayerKind::Moe})
    if (name == layer_kind_name(k)) return k;
  return std::nullopt;
}

const char* tensor_part_name(TensorPart part) {
  switch (part) {
    case TensorPart::Weight: return "weight";
    case TensorPart::Bias: return "bias";
    case TensorPart::Norm: return "norm";
  }
  return "?";
}

FamilyTable FamilyTable::from_json(const json& table, const std::string& label) {
  if (!table.is_object() || !table.contains("families") || !table["families"].is_object())
    fail(ErrorKind::Format, "{}: an architecture table needs a 'families' object", label);
  const json defaults = table.contains("defaults") ? object_field(table, "defaults", label) : builtin_defaults();
  FamilyTable result;
  for (const auto& [model_type, family] : table["families"].items())
    result.families_[model_type] = parse_family(model_type, family, defaults, label);
  return result;
}

FamilyTable FamilyTable::from_file(const std::filesystem::path& path) { return from_json(read_json_file(path), path.string()); }

const FamilyTable& FamilyTable::builtin() {
  static const FamilyTable table = from_json(parse_json(kBuiltinFamiliesJson, "built-in families.json"), "built-in families.json");
  return table;
}

void FamilyTable::merge(const FamilyTable& other) {
  for (const auto& [name, family] : other.families_) families_[name] = family;
}

const FamilyProfile* FamilyTable::find(std::string_view model_type) const {
  auto it = families_.find(std::string(model_type));
  if (it != families_.end()) return &it->second;
  for (const auto& [name, family] : families_)
    for (const auto& alias : family.aliases)
      if (alias == model_type) return &family;
  return nullptr;
}

std::vector<std::string> FamilyTable::model_types() const {
  std::vector<std::string> names;
  for (const auto& [name, family] : families_) names.push_back(name);
  return names;
}

}  // namespace qk
