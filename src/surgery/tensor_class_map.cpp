#include "surgery/tensor_class_map.hpp"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

bool attention_kind(LayerKind kind) { return kind == LayerKind::Global || kind == LayerKind::Sliding; }

std::string qk_class(const TensorTemplate& t) {
  if (t.part == TensorPart::Norm) return t.side == 'q' ? "attn.q_norm" : "attn.k_norm";
  return t.side == 'q' ? "attn.q" : "attn.k";
}

// The rows of [0, total) that `taken` leaves.
std::vector<RowRange> complement(std::vector<RowRange> taken, std::int64_t total) {
  std::sort(taken.begin(), taken.end(), [](const RowRange& a, const RowRange& b) { return a.begin < b.begin; });
  std::vector<RowRange> rest;
  std::int64_t at = 0;
  for (const auto& r : taken) {
    if (r.begin > at) rest.push_back({at, r.begin});
    at = std::max(at, r.end);
  }
  if (at < total) rest.push_back({at, total});
  return rest;
}

}  // namespace

std::vector<RowRange> template_rows(const ModelLayout& layout, const TensorTemplate& tmpl, bool include_gate,
                                    const std::string& name, std::int64_t tensor_rows) {
  if (!tmpl.rows) return {};
  if (!tmpl.gated.empty()) {
    const bool gate_present = layout.evaluate(tmpl.gated).value_or(0) != 0;
    if (!gate_present || include_gate) return {};
  }
  const auto& spec = *tmpl.rows;
  const std::int64_t count = layout.require_int(spec.count, "a row-block count");
  const std::int64_t block = layout.require_int(spec.block, "a row-block size");
  const std::int64_t stride = spec.stride.empty() ? block : layout.require_int(spec.stride, "a row-block stride");
  const std::int64_t offset = layout.require_int(spec.offset, "a row-block offset");
  // Checked before the blocks are listed. No blocks, or blocks of no rows, would come back as "no rows
  // given", which means the whole tensor: a config.json with 0 heads must not restore the gate rows
  // with the query rows.
  if (count <= 0 || block <= 0 || stride < 0 || offset < 0)
    fail(ErrorKind::Format, "{}: config.json gives tensor '{}' {} blocks of {} rows (stride {}, from row {}): not a layout of its rows",
         layout.label(), name, count, block, stride, offset);
  // A head count of 10^15 must fail here, not fill memory. Each value is below 2^53 (require_int), so
  // the last block's end fits in 128 bits.
  if (offset + static_cast<__int128>(count - 1) * stride + block > tensor_rows)
    fail(ErrorKind::Mismatch,
         "tensor '{}' has {} rows, but config.json ({}) puts {} blocks of {} rows there (stride {}, from row {}): config.json and "
         "weights disagree",
         name, tensor_rows, layout.label(), count, block, stride, offset);
  std::vector<RowRange> rows;
  for (std::int64_t h = 0; h < count; ++h) rows.push_back({offset + h * stride, offset + h * stride + block});
  return rows;
}

TensorClassMap classify_tensors(const Checkpoint& sft, const ModelLayout& layout, const std::string& layer_prefix) {
  const FamilyProfile& family = layout.family();
  std::vector<std::regex> qk_patterns, class_patterns;
  for (const auto& t : family.global_tensors) qk_patterns.emplace_back(t.match.empty() ? std::regex() : std::regex(t.match));
  for (const auto& c : family.class_templates) class_patterns.emplace_back(c.match);
  TensorClassMap map;
  for (const auto& name : sft.tensor_names()) {
    const int layer = layer_index_in_name(name, layer_prefix, sft.at(name).file->path().string()).value_or(-1);
    if (layer >= layout.num_layers()) {
      map.unclassified.push_back(name);
      continue;
    }
    const std::string below = layer >= 0 ? name.substr(fmt::format("{}.{}.", layer_prefix, layer).size()) : name;
    const LayerKind kind = layer >= 0 ? layout.layers()[layer].kind : LayerKind::Global;
    // attn.q / attn.k and their norms: the global_tensors templates, in attention layers.
    if (layer >= 0 && attention_kind(kind)) {
      std::vector<RowRange> claimed;
      std::string rest;
      bool matched = false;
      for (std::size_t i = 0; i < family.global_tensors.size(); ++i) {
        const TensorTemplate& t = family.global_tensors[i];
        if (t.match.empty() ? below != t.name : !std::regex_match(below, qk_patterns[i])) continue;
        std::vector<RowRange> rows = template_rows(layout, t, false, name, sft.at(name).info->rows());
        claimed.insert(claimed.end(), rows.begin(), rows.end());
        if (!t.rest.empty()) rest = t.rest;
        map.pieces.push_back({name, layer, qk_class(t), std::move(rows), &t});
        matched = true;
      }
      if (matched) {
        if (!rest.empty() && !claimed.empty())
          if (auto left = complement(claimed, sft.at(name).info->rows()); !left.empty()) map.pieces.push_back({name, layer, rest, left, nullptr});
        continue;
      }
    }
    const ClassTemplate* found = nullptr;
    for (std::size_t i = 0; i < family.class_templates.size(); ++i) {
      const ClassTemplate& c = family.class_templates[i];
      if (c.outside != (layer < 0)) continue;
      if (layer >= 0 && !c.kinds.empty() && std::find(c.kinds.begin(), c.kinds.end(), kind) == c.kinds.end()) continue;
      if (!std::regex_match(below, class_patterns[i])) continue;
      if (found && found->tensor_class != c.tensor_class)
        fail(ErrorKind::Format, "the classes of family {} put tensor '{}' in both {} and {}: fix the table's patterns", family.model_type, name,
             found->tensor_class, c.tensor_class);
      found = &c;
    }
    if (found) map.pieces.push_back({name, layer, found->tensor_class, {}, nullptr});
    else map.unclassified.push_back(name);
  }
  return map;
}

}  // namespace qk
