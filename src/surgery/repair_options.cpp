// The codec of a repair: one row per option, giving its CLI spelling, how its value is parsed into
// the spec and printed back, its part of the label, and its JSON field. parse_args, to_args, label,
// to_json and from_json are loops over this table; a new option is a new row (and its field in
// repair_spec.hpp).
#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "surgery/blend_method.hpp"
#include "surgery/procrustes_method.hpp"
#include "surgery/repair_spec.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

using Json = nlohmann::json;
using Kinds = std::set<MethodKind>;
const Kinds kAll = {MethodKind::Restore, MethodKind::Blend, MethodKind::Procrustes, MethodKind::Ridge};

struct Row {
  RepairOption option;
  // Part of label(): " NAME=VALUE", or " NAME" for a switch ("+gate"); nullptr: not in the label.
  const char* label;
  // Field of "options" (a selection row) or of "method_options" (a method row); nullptr: not stored.
  const char* json_key;
  // `value` is empty for a switch; `where` names the option for messages.
  void (*parse)(RepairSpec&, const std::string& value, const std::string& where);
  // nullopt: not given; "" for a switch that is on.
  std::optional<std::string> (*print)(const RepairSpec&);
  Json (*to_json)(const RepairSpec&);
  void (*from_json)(RepairSpec&, const Json& value, const std::string& where);
};

std::string number_text(double v) { return fmt::format("{}", v); }

// "3,7,11" or "0-3,8"
std::set<int> parse_layer_list(const std::string& text, const std::string& option) {
  std::set<int> layers;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const std::string where = fmt::format("{} '{}': '{}' is not a layer index or range like 4-7", option, text, item);
    const std::size_t dash = item.find('-');
    const int from = parse_layer_index(item.substr(0, dash), where, ErrorKind::Usage);
    const int to = dash == std::string::npos ? from : parse_layer_index(item.substr(dash + 1), where, ErrorKind::Usage);
    if (to < from) fail(ErrorKind::Usage, "{}", where);
    for (int i = from; i <= to; ++i) layers.insert(i);
  }
  if (layers.empty()) fail(ErrorKind::Usage, "{} '{}' names no layer", option, text);
  return layers;
}

// {"3": 1.0, "11": 0.25}: blend's per-layer alphas, as method_options and --alpha-file store them.
std::map<int, double> layer_alphas_from_json(const Json& value, const std::string& where) {
  if (!value.is_object()) fail(ErrorKind::Format, "{}: expected an object of per-layer alphas like {{\"3\": 1.0}}", where);
  std::map<int, double> layers;
  for (const auto& [key, alpha] : value.items()) {
    const std::string field = fmt::format("{}.{}", where, key);
    layers[parse_layer_index(key, field)] = checked_alpha(json_as<double>(alpha, field), field, ErrorKind::Format);
  }
  return layers;
}

// --alpha-file: {"alpha": A, "layers": {"3": 1.0}} (both optional): blend's method_options, from a file.
void read_alpha_file(RepairSpec& spec, const std::string& path) {
  const Json j = read_json_file(path);
  if (!j.is_object()) fail(ErrorKind::Format, "{}: blend options are a JSON object like {{\"alpha\": 0.5, \"layers\": {{\"3\": 1.0}}}}", path);
  for (const auto& [key, value] : j.items())
    if (key != "alpha" && key != "layers") fail(ErrorKind::Format, "{}: unknown field '{}' (expected alpha, layers)", path, key);
  spec.method.alpha = checked_alpha(number_field(j, "alpha", path, spec.method.alpha), path, ErrorKind::Format);
  if (j.contains("layers")) spec.method.layer_alphas = layer_alphas_from_json(j["layers"], path + ": layers");
}

template <typename T>
Json optional_json(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

// A switch of the selection: one bool field.
template <bool Selection::*Field>
Row switch_row(const char* flag, const char* help, const char* label, const char* json_key) {
  return {{flag, nullptr, help, kAll, true}, label, json_key,
          [](RepairSpec& s, const std::string&, const std::string&) { s.selection.*Field = true; },
          [](const RepairSpec& s) { return s.selection.*Field ? std::optional<std::string>("") : std::nullopt; },
          [](const RepairSpec& s) { return Json(s.selection.*Field); },
          [](RepairSpec& s, const Json& v, const std::string& where) { s.selection.*Field = json_as<bool>(v, where); }};
}

// A text option of the selection: one optional string field, stored as given. Absent, it is written
// as null when kNullWhenAbsent (the fields qkrestore.json always had) and not at all otherwise (options
// added later: outputs that do not use them keep their bytes).
template <std::optional<std::string> Selection::*Field, bool kNullWhenAbsent>
Row text_row(const char* flag, const char* value_name, const char* help, const char* label, const char* json_key) {
  return {{flag, value_name, help, kAll, true}, label, json_key,
          [](RepairSpec& s, const std::string& v, const std::string&) { s.selection.*Field = v; },
          [](const RepairSpec& s) { return s.selection.*Field; },
          [](const RepairSpec& s) {
            return s.selection.*Field || kNullWhenAbsent ? optional_json(s.selection.*Field) : Json(Json::value_t::discarded);
          },
          [](RepairSpec& s, const Json& v, const std::string& where) {
            if (!v.is_null()) s.selection.*Field = json_as<std::string>(v, where);
          }};
}

const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      // ---- the method's parameters (method_options) ----
      {{"--alpha", "A", "weight of base: W = A * base + (1 - A) * SFT (blend, default 0.5); procrustes: of the aligned base "
                        "(default 1)", {MethodKind::Blend, MethodKind::Procrustes}, false},
       "a", "alpha",
       [](RepairSpec& s, const std::string& v, const std::string& where) {
         s.method.alpha = checked_alpha(parse_number(v, where, ErrorKind::Usage), where, ErrorKind::Usage);
       },
       [](const RepairSpec& s) { return std::optional<std::string>(number_text(s.method.alpha)); },
       [](const RepairSpec& s) { return Json(s.method.alpha); },
       [](RepairSpec& s, const Json& v, const std::string& where) {
         s.method.alpha = checked_alpha(json_as<double>(v, where), where, ErrorKind::Format);
       }},
      {{"--alpha-file", "FILE", "per-layer alphas: JSON {\"alpha\": A, \"layers\": {\"3\": 1.0, ...}} (printed back as --layer-alphas)",
        {MethodKind::Blend}, false},
       nullptr, nullptr, [](RepairSpec& s, const std::string& v, const std::string&) { read_alpha_file(s, v); },
       [](const RepairSpec&) { return std::optional<std::string>(); }, nullptr, nullptr},
      {{"--layer-alphas", "L=A,...", "per-layer alphas overriding --alpha, e.g. 3=1,11=0.25", {MethodKind::Blend}, false},
       "layer-alphas", "layers",
       [](RepairSpec& s, const std::string& v, const std::string& where) {
         std::stringstream stream(v);
         std::string item;
         while (std::getline(stream, item, ',')) {
           const std::size_t eq = item.find('=');
           const std::string at = fmt::format("{} '{}': '{}' (expected LAYER=ALPHA)", where, v, item);
           if (eq == std::string::npos) fail(ErrorKind::Usage, "{}", at);
           const int layer = parse_layer_index(item.substr(0, eq), at, ErrorKind::Usage);
           s.method.layer_alphas[layer] = checked_alpha(parse_number(item.substr(eq + 1), at, ErrorKind::Usage), at, ErrorKind::Usage);
         }
         if (s.method.layer_alphas.empty()) fail(ErrorKind::Usage, "{} '{}' names no layer", where, v);
       },
       [](const RepairSpec& s) {
         if (s.method.layer_alphas.empty()) return std::optional<std::string>();
         std::vector<std::string> items;
         for (const auto& [layer, alpha] : s.method.layer_alphas) items.push_back(fmt::format("{}={}", layer, number_text(alpha)));
         return std::optional<std::string>(fmt::format("{}", fmt::join(items, ",")));
       },
       [](const RepairSpec& s) {
         Json layers = Json::object();
         for (const auto& [layer, alpha] : s.method.layer_alphas) layers[std::to_string(layer)] = alpha;
         return layers;
       },
       [](RepairSpec& s, const Json& v, const std::string& where) { s.method.layer_alphas = layer_alphas_from_json(v, where); }},
      {{"--granularity", "G", "procrustes: group = one rotation per KV group (default), layer = one per layer", {MethodKind::Procrustes}, false},
       "granularity", "granularity",
       [](RepairSpec& s, const std::string& v, const std::string&) { s.method.granularity = granularity_name(parse_granularity(v)); },
       [](const RepairSpec& s) { return s.method.granularity == "group" ? std::nullopt : std::optional<std::string>(s.method.granularity); },
       [](const RepairSpec& s) { return Json(s.method.granularity); },
       [](RepairSpec& s, const Json& v, const std::string& where) {
         const std::string text = json_as<std::string>(v, where);
         if (text != "group" && text != "layer") fail(ErrorKind::Format, "{}: '{}' is not a granularity (group, layer)", where, text);
         s.method.granularity = text;
       }},
      {{"--lambda", "L", "ridge strength, in the units of W_K W_K^T (0: nearest restore, large: SFT; default 1)", {MethodKind::Ridge}, false},
       "lambda", "lambda",
       [](RepairSpec& s, const std::string& v, const std::string& where) {
         s.method.lambda = parse_number(v, where, ErrorKind::Usage);
         if (!(s.method.lambda >= 0)) fail(ErrorKind::Usage, "{} {} must be >= 0 (0: closest to restore, large: closest to SFT)", where, v);
       },
       [](const RepairSpec& s) { return std::optional<std::string>(number_text(s.method.lambda)); },
       [](const RepairSpec& s) { return Json(s.method.lambda); },
       [](RepairSpec& s, const Json& v, const std::string& where) { s.method.lambda = json_as<double>(v, where); }},

      // ---- the selection (options) ----
      {{"--layers", "LIST", "restore these layers instead of the global ones, e.g. 3,7 or 0-3", kAll, true},
       "layers", "layers",
       [](RepairSpec& s, const std::string& v, const std::string& where) { s.selection.layers = parse_layer_list(v, where); },
       [](const RepairSpec& s) {
         if (!s.selection.layers) return std::optional<std::string>();
         return std::optional<std::string>(fmt::format("{}", fmt::join(*s.selection.layers, ",")));
       },
       [](const RepairSpec& s) {
         return s.selection.layers ? Json(std::vector<int>(s.selection.layers->begin(), s.selection.layers->end())) : Json(nullptr);
       },
       [](RepairSpec& s, const Json& v, const std::string& where) {
         if (v.is_null()) return;
         if (!v.is_array()) fail(ErrorKind::Format, "{}: expected a list of layer indices", where);
         std::set<int> layers;
         for (const auto& layer : v) layers.insert(json_layer_index(layer, where));
         s.selection.layers = layers;
       }},
      {{"--heads", "SPEC", "only these KV groups / query heads: 3:0, 3:0-1, 7:*, 3:q5, joined by commas (docs/heads.md)", kAll, true},
       "heads", "heads",
       [](RepairSpec& s, const std::string& v, const std::string&) { s.selection.heads = HeadSpec::parse(v); },
       [](const RepairSpec& s) { return s.selection.heads ? std::optional<std::string>(s.selection.heads->to_string()) : std::nullopt; },
       [](const RepairSpec& s) { return s.selection.heads ? Json(s.selection.heads->to_string()) : Json(nullptr); },
       [](RepairSpec& s, const Json& v, const std::string& where) {
         if (v.is_null()) return;
         const std::string text = json_as<std::string>(v, where);
         try {
           s.selection.heads = HeadSpec::parse(text);
         } catch (const Error& e) {
           fail(ErrorKind::Format, "{}: {}", where, e.what());
         }
       }},
      text_row<&Selection::tensors_regex, true>("--tensors", "REGEX",
                                          "only tensors whose name matches REGEX (others of the selected layers are added whole)",
                                          "tensors", "tensors"),
      text_row<&Selection::exclude_regex, false>("--exclude", "REGEX",
                                          "leave the selected tensors whose name matches REGEX as SFT's (applied last)", "exclude",
                                          "exclude"),
      switch_row<&Selection::include_sliding>("--include-sliding", "also restore sliding-window attention layers", "+sliding",
                                              "include_sliding"),
      switch_row<&Selection::include_gate>("--include-gate", "restore the output-gate rows of gated query projections too", "+gate",
                                           "include_gate"),
      switch_row<&Selection::with_qk_norm>("--with-qk-norm", "restore q/k norm weights too (they stay SFT by default)", "+qk-norm",
                                           "with_qk_norm"),
      {{"--take", "ITEMS", "tensor classes from base by layer: CLASS@LAYERS[:GROUPS][:WEIGHT], e.g. mlp@0-3:0.25,attn.qk@3:3 "
                           "(docs/repair-spec.md lists the classes)", {MethodKind::Restore, MethodKind::Blend}, true},
       "take", "take",
       [](RepairSpec& s, const std::string& v, const std::string& where) { s.selection.take = parse_take(v, where); },
       [](const RepairSpec& s) { return s.selection.take.empty() ? std::nullopt : std::optional<std::string>(take_text(s.selection.take)); },
       [](const RepairSpec& s) {
         if (s.selection.take.empty()) return Json(Json::value_t::discarded);  // not written: outputs without it keep their bytes
         Json items = Json::array();
         for (const auto& item : s.selection.take) items.push_back(item.to_string());
         return items;
       },
       [](RepairSpec& s, const Json& v, const std::string& where) {
         for (const auto& item : json_as<std::vector<std::string>>(v, where)) {
           try {
             s.selection.take.push_back(TakeItem::parse(item, where));
           } catch (const Error& e) {
             fail(ErrorKind::Format, "{}", e.what());
           }
         }
       }},
  };
  return table;
}

bool applies(const Row& row, MethodKind kind) { return row.option.methods.count(kind) > 0; }

}  // namespace

std::span<const RepairOption> repair_options() {
  static const std::vector<RepairOption> options = [] {
    std::vector<RepairOption> out;
    for (const auto& row : rows()) out.push_back(row.option);
    return out;
  }();
  return options;
}

RepairSpec RepairSpec::parse_args(MethodKind kind, std::span<const std::string> args) {
  // Collected first, applied in table order: --alpha is the default an --alpha-file may override.
  std::map<std::string, std::string> given;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto row = std::find_if(rows().begin(), rows().end(), [&](const Row& r) { return flag == r.option.flag; });
    if (row == rows().end()) fail(ErrorKind::Usage, "'{}' is not an option of a repair", flag);
    if (!applies(*row, kind)) fail(ErrorKind::Usage, "{} does not take {}", method_name(kind), flag);
    if (given.count(flag)) fail(ErrorKind::Usage, "{} is given twice", flag);
    if (row->option.value_name) {
      if (i + 1 == args.size()) fail(ErrorKind::Usage, "{} needs a value ({})", flag, row->option.value_name);
      given[flag] = args[++i];
    } else {
      given[flag] = "";
    }
  }
  RepairSpec spec;
  spec.method = MethodSpec::defaults(kind);
  for (const auto& row : rows())
    if (auto it = given.find(row.option.flag); it != given.end()) row.parse(spec, it->second, row.option.flag);
  return spec;
}

std::vector<std::string> RepairSpec::to_args() const {
  std::vector<std::string> args;
  for (const auto& row : rows()) {
    if (!applies(row, method.kind)) continue;
    const auto value = row.print(*this);
    if (!value) continue;
    args.push_back(row.option.flag);
    if (row.option.value_name) args.push_back(*value);
  }
  return args;
}

std::string RepairSpec::label() const {
  std::string text = method_name(method.kind);
  for (const auto& row : rows()) {
    if (!row.label || !applies(row, method.kind)) continue;
    const auto value = row.print(*this);
    if (!value) continue;
    text += row.option.value_name ? fmt::format(" {}={}", row.label, *value) : fmt::format(" {}", row.label);
  }
  return text;
}

nlohmann::json RepairSpec::method_options_json() const {
  Json j = Json::object();
  for (const auto& row : rows())
    if (!row.option.selection && row.json_key && applies(row, method.kind))
      if (Json value = row.to_json(*this); !value.is_discarded()) j[row.json_key] = std::move(value);
  return j;
}

nlohmann::json RepairSpec::selection_json() const {
  Json j = Json::object();
  for (const auto& row : rows())
    if (row.option.selection && row.json_key && applies(row, method.kind))
      if (Json value = row.to_json(*this); !value.is_discarded()) j[row.json_key] = std::move(value);
  return j;
}

nlohmann::json RepairSpec::to_json() const {
  return {{"method", method_name(method.kind)}, {"method_options", method_options_json()}, {"options", selection_json()}};
}

RepairSpec RepairSpec::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::Format, "{}: expected a JSON object", where);
  RepairSpec spec;
  const std::string name = optional_string_field(j, "method", where).value_or("");
  spec.method.kind = parse_method_kind(name, where + ": method", true);
  // Fields a file leaves out take the defaults of the version that wrote it: alpha 1, lambda 0.
  spec.method.alpha = 1.0;
  spec.method.lambda = 0.0;
  // Reads `object` (the JSON of "method_options" or "options") through the rows of one side,
  // refusing a field no row knows: a newer version's option must not be ignored by `verify`.
  auto read = [&](const char* key, bool selection) {
    if (!j.contains(key) || j[key].is_null()) return;
    const std::string at = fmt::format("{}: {}", where, key);
    if (!j[key].is_object()) fail(ErrorKind::Format, "{} must be an object", at);
    for (const auto& item : j[key].items()) {
      // A named copy: lambdas may not capture structured bindings before C++20's P1091 (clang 14).
      const std::string field = item.key();
      const nlohmann::json& value = item.value();
      auto row = std::find_if(rows().begin(), rows().end(), [&](const Row& r) {
        return r.json_key && field == r.json_key && r.option.selection == selection && applies(r, spec.method.kind);
      });
      if (row == rows().end())
        fail(ErrorKind::Format, "{}: unknown field '{}' for method {} (written by a newer qkrestore?)", at, field, name);
      row->from_json(spec, value, fmt::format("{}.{}", at, field));
    }
  };
  read("method_options", false);
  read("options", true);
  return spec;
}

}  // namespace qk
