#include "surgery/plan.hpp"

#include <algorithm>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arch/tensor_classes.hpp"
#include "surgery/tensor_class_map.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

std::vector<RowRange> normalize(std::vector<RowRange> rows) {
  std::sort(rows.begin(), rows.end(), [](const RowRange& a, const RowRange& b) { return a.begin < b.begin; });
  std::vector<RowRange> merged;
  for (const auto& r : rows) {
    if (r.end <= r.begin) continue;
    if (!merged.empty() && r.begin <= merged.back().end) merged.back().end = std::max(merged.back().end, r.end);
    else merged.push_back(r);
  }
  return merged;
}

std::string shape_text(const TensorInfo& info) { return fmt::format("[{}]", fmt::join(info.shape, ", ")); }

std::string describe_rows(const PlannedTensor& t) {
  if (t.whole()) return "all rows";
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < t.rows.size() && i < 3; ++i) parts.push_back(fmt::format("{}-{}", t.rows[i].begin, t.rows[i].end - 1));
  std::string text = "rows " + fmt::format("{}", fmt::join(parts, ","));
  if (t.rows.size() > 3) text += fmt::format(",... ({} blocks)", t.rows.size());
  return text + fmt::format(" = {} of {}", t.selected_rows(), t.total_rows);
}

std::string describe(const PlannedTensor& t) {
  return describe_rows(t) + (t.weight ? fmt::format(", weight {}", *t.weight) : "");
}

class Planner {
 public:
  Planner(const Checkpoint& base, const Checkpoint& sft, const Selection& options, const FamilyTable& table)
      : base_(base), sft_(sft), options_(options),
        base_layout_(base.config(), table, (base.dir() / "config.json").string()),
        sft_layout_(sft.config(), table, (sft.dir() / "config.json").string()) {}

  SurgeryPlan build() {
    check_same_architecture();
    SurgeryPlan plan;
    plan.model_type = sft_layout_.model_type();
    plan.family_description = sft_layout_.family().description;
    plan.kinds_source = sft_layout_.kinds_source();
    plan.layers = sft_layout_.layers();
    plan.layer_prefix = find_layer_prefix();
    try {
      plan.rotary_dim = sft_layout_.rotary_dim();
    } catch (const Error& e) {  // only the methods that rotate need it: recorded, raised by require_rotary_dim
      plan.rotary_dim_unknown = e.what();
    }
    plan.heads = sft_layout_.optional_int("heads", "the query head count").value_or(0);
    plan.kv_heads = sft_layout_.optional_int("kv_heads", "the key/value head count").value_or(0);
    plan.head_dim = sft_layout_.optional_int("head_dim", "head_dim").value_or(0);
    prefix_ = plan.layer_prefix;
    heads_ = plan.heads;
    kv_heads_ = plan.kv_heads;
    head_dim_ = plan.head_dim;
    // The Q/K rows of --layers / --heads (or of the global layers when nothing else is asked), then the
    // classes of --take.
    if (options_.take.empty() || options_.layers || options_.heads) {
      plan.selected_layers = select_layers();
      if (options_.heads) select_heads(plan);
      for (int layer : plan.selected_layers) plan_layer(layer, plan.notes);
    } else {
      for (const auto& [flag, on] : {std::pair{"--include-sliding", options_.include_sliding}, std::pair{"--include-gate", options_.include_gate},
                                    std::pair{"--with-qk-norm", options_.with_qk_norm}})
        if (on)
          fail(ErrorKind::Usage, "{} shapes the Q/K rows of --layers / --heads; with --take alone, name the class instead "
               "(attn.gate, attn.qk_norm, attn.qk@LAYERS for sliding layers)", flag);
    }
    if (!options_.take.empty()) take_classes(plan);
    if (options_.tensors_regex) apply_tensor_regex(plan.selected_layers);
    if (options_.exclude_regex) apply_exclusion();
    order_as_in_sft(plan);
    note_dtype_conversions(plan);
    return plan;
  }

 private:
  void check_same_architecture() {
    auto mismatch = [&](std::string_view what, auto base_value, auto sft_value) {
      fail(ErrorKind::Mismatch, "base and SFT differ in {}: base ({}) has {}, SFT ({}) has {}", what, base_.dir().string(),
           base_value, sft_.dir().string(), sft_value);
    };
    if (base_layout_.model_type() != sft_layout_.model_type())
      mismatch("model_type", base_layout_.model_type(), sft_layout_.model_type());
    if (base_layout_.num_layers() != sft_layout_.num_layers())
      mismatch("layer count", base_layout_.num_layers(), sft_layout_.num_layers());
    for (int i = 0; i < sft_layout_.num_layers(); ++i) {
      const auto& b = base_layout_.layers()[i];
      const auto& s = sft_layout_.layers()[i];
      if (b.kind != s.kind || b.config_value != s.config_value)
        mismatch(fmt::format("the type of layer {}", i), b.config_value.empty() ? layer_kind_name(b.kind) : b.config_value,
                 s.config_value.empty() ? layer_kind_name(s.kind) : s.config_value);
    }
    for (const char* dim : {"heads", "kv_heads", "head_dim"}) {
      auto b = base_layout_.evaluate(dim), s = sft_layout_.evaluate(dim);
      if (b && s && *b != *s) mismatch(fmt::format("{} ({})", dim, sft_layout_.family().dims.at(dim)), *b, *s);
    }
  }

  std::string find_layer_prefix() {
    const auto names = sft_.tensor_names();
    for (const auto& prefix : sft_layout_.family().layer_prefixes)
      for (const auto& name : names)
        if (name.rfind(prefix + ".", 0) == 0) return prefix;
    fail(ErrorKind::Mismatch, "{}: no tensor name starts with the layer prefix of {} ({})", sft_.dir().string(),
         sft_layout_.model_type(), fmt::join(sft_layout_.family().layer_prefixes, " or "));
  }

  std::vector<int> select_layers() {
    std::vector<int> selected;
    if (options_.layers) {
      for (int i : *options_.layers) {
        if (i < 0 || i >= sft_layout_.num_layers())
          fail(ErrorKind::Usage, "--layers names layer {}, but the model has layers 0-{}", i, sft_layout_.num_layers() - 1);
        selected.push_back(i);
      }
      return selected;
    }
    for (const auto& layer : sft_layout_.layers())
      if (layer.kind == LayerKind::Global || (options_.include_sliding && layer.kind == LayerKind::Sliding))
        selected.push_back(layer.index);
    return selected;
  }

  // The families whose attention has no rows per head: a shared block with adapters, MLA.
  void refuse_per_head_cuts(const std::string& option, const std::string& model_type) {
    std::map<char, std::set<std::string>> weights;
    for (const auto& tmpl : sft_layout_.family().global_tensors) {
      if (!tmpl.match.empty())
        fail(ErrorKind::Unsupported, "{}: {} cannot be cut per head: its global attention is one block shared by several layers, "
             "with per-layer low-rank adapters ({}) that mix every head's rows, so a KV group has no query/key rows of its own; "
             "restore whole layers instead", option, model_type, tmpl.match);
      if (tmpl.part == TensorPart::Weight) weights[tmpl.side].insert(tmpl.name);
    }
    for (const auto& [side, names] : weights)
      if (names.size() > 1)
        fail(ErrorKind::Unsupported, "{}: {} cannot be cut per head: its attention is MLA, where {} are produced from a shared "
             "compressed latent ({}), so a KV group has no rows of its own in those projections; restore whole layers instead",
             option, model_type, side == 'k' ? "the keys of every head" : "the queries of every head", fmt::join(names, ", "));
  }

  // --take: every tensor (and rows) of each item's classes in its layers, at its weight.
  void take_classes(SurgeryPlan& plan) {
    const TensorClasses& classes = TensorClasses::builtin();
    const TensorClassMap map = classify_tensors(sft_, sft_layout_, prefix_);
    std::set<int> layers(plan.selected_layers.begin(), plan.selected_layers.end());
    for (const TakeItem& item : options_.take) {
      const std::string where = fmt::format("--take '{}'", item.to_string());
      if (item.layers && item.layers->second >= sft_layout_.num_layers())
        fail(ErrorKind::Usage, "{}: layer {} is out of range: the model has layers 0-{}", where, item.layers->second, sft_layout_.num_layers() - 1);
      if (item.heads) refuse_per_head_cuts(where, plan.model_type);
      const std::vector<std::string> leaves = classes.expand(item.tensor_class);
      std::map<int, LayerHeads> heads;
      std::set<std::string> held;  // the classes the item's layers do hold, for the message when it takes nothing
      bool took = false;
      for (const ClassPiece& piece : map.pieces) {
        const bool in_layers = piece.layer < 0 ? !classes.per_layer(item.tensor_class)
                                               : item.all_layers || (item.layers && piece.layer >= item.layers->first && piece.layer <= item.layers->second);
        if (!in_layers) continue;
        held.insert(piece.tensor_class);
        if (std::find(leaves.begin(), leaves.end(), piece.tensor_class) == leaves.end()) continue;
        if (!check_pair(piece.name, false, std::max(piece.layer, 0), plan.notes)) continue;
        std::vector<RowRange> rows = piece.rows;
        if (item.heads) {
          auto it = heads.find(piece.layer);
          if (it == heads.end()) it = heads.emplace(piece.layer, resolve_layer_heads(piece.layer, *item.heads, plan.heads, plan.kv_heads)).first;
          rows = rows_of_heads(piece.name, *piece.tmpl, rows, it->second);
        }
        add(piece.name, piece.layer, piece.tensor_class, rows, item.heads.has_value() || !piece.rows.empty(), item.weight);
        if (piece.layer >= 0) layers.insert(piece.layer);
        took = true;
      }
      if (!took)
        fail(ErrorKind::Usage, "{}: this {} model has no tensor of class {} there ({}: {})", where, plan.model_type, item.tensor_class,
             item.layers || item.all_layers ? "those layers hold" : "outside the layers it has",
             held.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(held, ", ")));
    }
    plan.selected_layers.assign(layers.begin(), layers.end());
  }

  // --heads: refuses what cannot be cut per head, then narrows the selected layers to the spec's.
  void select_heads(SurgeryPlan& plan) {
    const HeadSpec& spec = *options_.heads;
    refuse_per_head_cuts("--heads", plan.model_type);
    if (options_.with_qk_norm)
      fail(ErrorKind::Usage, "--heads cannot be combined with --with-qk-norm: a q/k norm weight is shared by every head of its layer "
           "(or normalises the whole projection), so restoring it would change the heads that were not selected");
    const std::set<int> selectable(plan.selected_layers.begin(), plan.selected_layers.end());
    for (const auto& [layer, request] : spec.layers) {
      if (layer >= sft_layout_.num_layers())
        fail(ErrorKind::Usage, "--heads names layer {}, but the model has layers 0-{}", layer, sft_layout_.num_layers() - 1);
      if (!selectable.count(layer)) {
        const auto& info = sft_layout_.layers()[layer];
        fail(ErrorKind::Usage, "--heads names layer {}, a {} layer{}: heads are chosen in {} (selectable here: {}){}", layer,
             layer_kind_name(info.kind), info.config_value.empty() ? "" : " (" + info.config_value + ")",
             options_.layers ? "the layers given by --layers" : "global attention layers", fmt::join(selectable, ","),
             options_.layers ? "" : "; --include-sliding adds sliding-window layers, --layers any layer");
      }
      plan.head_selection[layer] = resolve_layer_heads(layer, request, plan.heads, plan.kv_heads);
    }
    plan.selected_layers.assign(spec.layers.size(), 0);
    std::transform(spec.layers.begin(), spec.layers.end(), plan.selected_layers.begin(), [](const auto& e) { return e.first; });
    head_selection_ = &plan.head_selection;
  }

  // The rows of the selected heads among a template's rows: the template's rows (all rows when it
  // gives none) hold one equal block per head, in head order (query heads for 'q', KV heads for 'k').
  std::vector<RowRange> rows_of_heads(const std::string& name, const TensorTemplate& tmpl, const std::vector<RowRange>& rows,
                                      const LayerHeads& selected) {
    const std::int64_t total = sft_.at(name).info->rows();
    std::vector<std::int64_t> list;
    if (rows.empty())
      for (std::int64_t r = 0; r < total; ++r) list.push_back(r);
    for (const auto& range : normalize(rows))
      for (auto r = range.begin; r < range.end; ++r) list.push_back(r);
    const bool query = tmpl.side == 'q';
    const std::int64_t count = query ? heads_ : kv_heads_;
    const std::int64_t n = static_cast<std::int64_t>(list.size());
    if (count <= 0 || n % count != 0 || head_dim_ <= 0 || (n / count) % head_dim_ != 0)
      fail(ErrorKind::Unsupported, "--heads: tensor '{}' has {} {} rows, which do not split into {} heads of head_dim {} (a multiple of it)",
           name, n, query ? "query" : "key", count, head_dim_);
    const std::int64_t per_head = n / count;
    std::vector<RowRange> result;
    for (int h : query ? selected.query_heads : selected.key_heads)
      for (std::int64_t i = h * per_head; i < (h + 1) * per_head; ++i) result.push_back({list[i], list[i] + 1});
    return normalize(result);
  }

  // Checks that `name` exists in both checkpoints with one shape; returns false for a missing optional tensor.
  bool check_pair(const std::string& name, bool optional, int layer, std::vector<std::string>& notes) {
    TensorRef s = sft_.find(name);
    if (!s.file) {
      if (optional) return false;
      const auto& info = sft_layout_.layers()[layer];
      fail(ErrorKind::Mismatch, "{}: no tensor '{}' for layer {} ({}{}); with --layers, choose layers of the global kind", sft_.dir().string(),
           name, layer, layer_kind_name(info.kind), info.config_value.empty() ? "" : ": " + info.config_value);
    }
    TensorRef b = base_.find(name);
    if (!b.file) fail(ErrorKind::Mismatch, "base ({}) has no tensor '{}', which SFT has", base_.dir().string(), name);
    if (b.info->shape != s.info->shape)
      fail(ErrorKind::Mismatch, "tensor '{}' has shape {} in base but {} in SFT", name, shape_text(*b.info), shape_text(*s.info));
    return true;
  }

  // `rows` empty: the whole tensor, unless `exact` (a head selection that took no row of it: nothing).
  // `weight`: base's weight in a blend of the rows (--take); one per tensor.
  void add(const std::string& name, int layer, std::string role, std::vector<RowRange> rows, bool exact = false,
           std::optional<double> weight = std::nullopt) {
    if (exact && rows.empty()) return;
    const TensorInfo& info = *sft_.at(name).info;
    const std::int64_t total = info.rows();
    for (const auto& r : rows)
      if (r.begin < 0 || r.end > total)
        fail(ErrorKind::Mismatch, "tensor '{}' has {} rows, but the {} rows of its family need rows {}-{}: config.json and weights disagree",
             name, total, role, r.begin, r.end - 1);
    auto [it, inserted] = planned_.try_emplace(name);
    PlannedTensor& t = it->second;
    if (inserted) {
      t = PlannedTensor{name, layer, role, normalize(rows), total, weight};
      return;
    }
    if (t.weight != weight) {
      auto text = [](std::optional<double> w) { return w ? fmt::format("{}", *w) : std::string("the method's"); };
      fail(ErrorKind::Usage, "tensor '{}' is taken twice with different weights ({} and {}): a tensor takes one weight", name,
           text(t.weight), text(weight));
    }
    // A second template on the same tensor (fused QKV: query rows and key rows).
    if (t.role != role) t.role = fmt::format("{}+{}", t.role, role);
    if (t.whole() || (rows.empty() && !exact)) t.rows.clear();
    else {
      rows.insert(rows.end(), t.rows.begin(), t.rows.end());
      t.rows = normalize(rows);
    }
  }

  void plan_layer(int layer, std::vector<std::string>& notes) {
    const std::string layer_prefix = fmt::format("{}.{}.", prefix_, layer);
    for (const auto& tmpl : sft_layout_.family().global_tensors) {
      if (tmpl.part == TensorPart::Norm && !options_.with_qk_norm) continue;
      const std::string role = fmt::format("{} {}", tmpl.side, tensor_part_name(tmpl.part));
      if (!tmpl.match.empty()) {
        std::regex pattern(tmpl.match);
        for (const auto& name : sft_.tensor_names())
          if (name.rfind(layer_prefix, 0) == 0 && std::regex_match(name.substr(layer_prefix.size()), pattern) &&
              check_pair(name, true, layer, notes))
            add(name, layer, role, {});
        continue;
      }
      const std::string name = layer_prefix + tmpl.name;
      if (!check_pair(name, tmpl.optional, layer, notes)) continue;
      if (head_selection_ && head_selection_->count(layer)) {
        add(name, layer, role, rows_of_heads(name, tmpl, rows_of(tmpl, name), head_selection_->at(layer)), true);
        continue;
      }
      add(name, layer, role, rows_of(tmpl, name));
    }
  }

  std::vector<RowRange> rows_of(const TensorTemplate& tmpl, const std::string& name) {
    return template_rows(sft_layout_, tmpl, options_.include_gate, name, sft_.at(name).info->rows());
  }

  // --tensors REGEX: keep the planned tensors whose name matches, and add every other matching
  // tensor of the selected layers (or outside the layer stack) whole.
  static std::regex option_regex(const char* option, const std::string& text) {
    try {
      return std::regex(text);
    } catch (const std::regex_error& e) {
      fail(ErrorKind::Usage, "{} '{}' is not a valid regular expression: {}", option, text, e.what());
    }
  }

  void apply_tensor_regex(const std::vector<int>& selected_layers) {
    const std::regex pattern = option_regex("--tensors", *options_.tensors_regex);
    std::erase_if(planned_, [&](const auto& entry) { return !std::regex_search(entry.first, pattern); });
    std::set<int> layers(selected_layers.begin(), selected_layers.end());
    std::vector<std::string> unused_notes;
    for (const auto& name : sft_.tensor_names()) {
      if (planned_.count(name) || !std::regex_search(name, pattern)) continue;
      const int layer = layer_index_in_name(name, prefix_, sft_.at(name).file->path().string()).value_or(-1);
      if (layer >= 0 && !layers.count(layer)) continue;
      check_pair(name, false, std::max(layer, 0), unused_notes);
      add(name, layer, "selected", {});
    }
    if (planned_.empty())
      fail(ErrorKind::Usage, "--tensors '{}' matches no tensor of the selected layers ({})", *options_.tensors_regex,
           fmt::join(selected_layers, ","));
  }

  // --exclude REGEX: whatever the other options selected, the tensors whose name matches stay SFT's
  // (e.g. every class of layers 0-3 but their down projections). Refused when it leaves nothing.
  void apply_exclusion() {
    const std::regex pattern = option_regex("--exclude", *options_.exclude_regex);
    const std::size_t selected = planned_.size();
    std::erase_if(planned_, [&](const auto& entry) { return std::regex_search(entry.first, pattern); });
    if (planned_.empty())
      fail(ErrorKind::Usage, "--exclude '{}' matches all {} selected tensors: nothing would come from base", *options_.exclude_regex,
           selected);
  }

  void order_as_in_sft(SurgeryPlan& plan) {
    for (const auto& name : sft_.tensor_names()) {
      auto it = planned_.find(name);
      if (it != planned_.end()) plan.tensors.push_back(it->second);
    }
  }

  void note_dtype_conversions(SurgeryPlan& plan) {
    std::map<std::pair<std::string, std::string>, int> conversions;
    for (const auto& t : plan.tensors) {
      auto b = base_.at(t.name).info->dtype, s = sft_.at(t.name).info->dtype;
      if (b != s) ++conversions[{std::string(dtype_name(b)), std::string(dtype_name(s))}];
      if (b != s && (!dtype_is_float(b) || !dtype_is_float(s)))
        fail(ErrorKind::Unsupported, "tensor '{}' is {} in base but {} in SFT: only floating-point conversions are supported", t.name,
             dtype_name(b), dtype_name(s));
    }
    for (const auto& [pair, count] : conversions)
      plan.notes.push_back(fmt::format("{} restored tensor(s) are {} in base and {} in SFT: base values converted to {} "
                                       "(round to nearest, ties to even)",
                                       count, pair.first, pair.second, pair.second));
  }

  const Checkpoint& base_;
  const Checkpoint& sft_;
  const Selection& options_;
  ModelLayout base_layout_, sft_layout_;
  std::string prefix_;
  std::map<std::string, PlannedTensor> planned_;
  const std::map<int, LayerHeads>* head_selection_ = nullptr;
  std::int64_t heads_ = 0, kv_heads_ = 0, head_dim_ = 0;
};

}  // namespace

std::int64_t PlannedTensor::selected_rows() const {
  if (whole()) return total_rows;
  std::int64_t n = 0;
  for (const auto& r : rows) n += r.end - r.begin;
  return n;
}

const LayerHeads* SurgeryPlan::heads_of(int layer) const {
  auto it = head_selection.find(layer);
  return it == head_selection.end() ? nullptr : &it->second;
}

std::optional<std::size_t> SurgeryPlan::first_changed_layer() const {
  std::optional<std::size_t> first;
  for (const auto& t : tensors) {
    const std::size_t layer = t.layer < 0 ? 0 : static_cast<std::size_t>(t.layer);
    if (!first || layer < *first) first = layer;
  }
  return first;
}

const PlannedTensor* SurgeryPlan::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::int64_t SurgeryPlan::require_rotary_dim(std::string_view method) const {
  if (!rotary_dim_unknown.empty())
    fail(ErrorKind::Format, "{} needs the rotary dimension of the global layers, which config.json does not give: {}", method,
         rotary_dim_unknown);
  return rotary_dim;
}

nlohmann::json SurgeryPlan::to_json() const {
  nlohmann::json j;
  j["model_type"] = model_type;
  j["family"] = family_description;
  j["layer_prefix"] = layer_prefix;
  j["layer_types_from"] = kinds_source;
  j["rotary_dim"] = rotary_dim_unknown.empty() ? nlohmann::json(rotary_dim) : nlohmann::json(nullptr);
  j["heads"] = heads;
  j["kv_heads"] = kv_heads;
  j["head_dim"] = head_dim;
  j["selected_layers"] = selected_layers;
  nlohmann::json layers_json = nlohmann::json::array();
  for (const auto& layer : layers) {
    nlohmann::json tensors_json = nlohmann::json::array();
    for (const auto& t : tensors) {
      if (t.layer != layer.index) continue;
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& r : t.rows) rows.push_back({r.begin, r.end});
      tensors_json.push_back({{"name", t.name}, {"role", t.role}, {"rows", t.whole() ? nlohmann::json("all") : rows},
                              {"selected_rows", t.selected_rows()}, {"total_rows", t.total_rows}});
      if (t.weight) tensors_json.back()["weight"] = *t.weight;
    }
    nlohmann::json entry = {{"index", layer.index}, {"kind", layer_kind_name(layer.kind)}, {"config_value", layer.config_value},
                            {"from_base", tensors_json}};
    if (const LayerHeads* selected = heads_of(layer.index))
      entry["heads"] = {{"kv_groups", selected->kv_groups}, {"query_heads", selected->query_heads}, {"key_heads", selected->key_heads}};
    layers_json.push_back(entry);
  }
  j["layers"] = layers_json;
  nlohmann::json other = nlohmann::json::array();
  for (const auto& t : tensors)
    if (t.layer < 0) {
      other.push_back({{"name", t.name}, {"role", t.role}, {"rows", "all"}});
      if (t.weight) other.back()["weight"] = *t.weight;
    }
  j["other_tensors_from_base"] = other;
  j["notes"] = notes;
  return j;
}

std::string SurgeryPlan::to_text() const {
  std::string out = fmt::format("model_type {} ({}); layer types from '{}'; {} layers, {} selected\n", model_type, family_description,
                                kinds_source, layers.size(), selected_layers.size());
  for (const auto& layer : layers) {
    std::vector<const PlannedTensor*> mine;
    for (const auto& t : tensors)
      if (t.layer == layer.index) mine.push_back(&t);
    out += fmt::format("layer {:>3}  {:<8} {:<18}", layer.index, layer_kind_name(layer.kind), layer.config_value);
    if (mine.empty()) {
      out += "  all from SFT\n";
      continue;
    }
    if (const LayerHeads* selected = heads_of(layer.index))
      out += fmt::format("  heads: KV groups [{}], query heads [{}]", fmt::join(selected->kv_groups, ","), fmt::join(selected->query_heads, ","));
    out += "\n";
    for (const auto* t : mine) out += fmt::format("    from base: {:<55} {:<10} {}\n", t->name, t->role, describe(*t));
  }
  for (const auto& t : tensors)
    if (t.layer < 0) out += fmt::format("    from base: {:<55} {:<10} {}\n", t.name, t.role, describe(t));
  std::size_t whole = 0, partial = 0;
  for (const auto& t : tensors) (t.whole() ? whole : partial) += 1;
  out += fmt::format("{} tensors from base ({} whole, {} by row ranges); every other tensor from SFT\n", tensors.size(), whole, partial);
  for (const auto& note : notes) out += "note: " + note + "\n";
  return out;
}

SurgeryPlan make_plan(const Checkpoint& base, const Checkpoint& sft, const Selection& selection, const FamilyTable& table) {
  return Planner(base, sft, selection, table).build();
}

}  // namespace qk
