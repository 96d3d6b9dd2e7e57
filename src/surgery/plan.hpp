// The surgery plan: which tensors (and which rows of them) an output takes from BASE. Everything
// not in the plan is copied from SFT byte for byte. Built from the two checkpoints' headers and
// config.json alone, before any tensor byte is read, so every mismatch is reported up front.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/layout.hpp"
#include "io/checkpoint.hpp"
#include "surgery/head_selection.hpp"
#include "surgery/repair_spec.hpp"

namespace qk {

struct RowRange {
  std::int64_t begin = 0, end = 0;  // [begin, end) along the first dimension
};

struct PlannedTensor {
  std::string name;
  int layer = -1;          // -1 for tensors outside the layer stack
  std::string role;        // "q weight", "k bias", "q norm", "q+k weight" (fused), "selected" (--tensors), a class ("mlp.down")
  std::vector<RowRange> rows;  // sorted, disjoint; empty means the whole tensor
  std::int64_t total_rows = 0;
  std::optional<double> weight;  // --take CLASS...:W: base's weight in a blend of these rows; none: the method's
  bool whole() const { return rows.empty(); }
  std::int64_t selected_rows() const;
};

struct SurgeryPlan {
  std::string model_type;
  std::string family_description;
  std::string layer_prefix;        // e.g. "model.layers"
  std::string kinds_source;        // config key that gave the layer kinds
  std::vector<LayerInfo> layers;
  std::vector<int> selected_layers;
  std::vector<PlannedTensor> tensors;  // in SFT file order
  std::vector<std::string> notes;      // dtype conversions, skipped optional tensors ...
  std::int64_t rotary_dim = 0;         // of the global layers (0 = NoPE); see rotary_dim_unknown
  std::string rotary_dim_unknown;      // why config.json does not give rotary_dim (empty: it does)
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;
  // --heads: per selected layer, the KV groups and query heads whose rows come from base. Empty
  // without --heads (every head of every selected layer).
  std::map<int, LayerHeads> head_selection;
  const LayerHeads* heads_of(int layer) const;

  const PlannedTensor* find(std::string_view name) const;
  // The first layer whose computation changes: the lowest planned layer, 0 when a tensor outside the
  // layer stack is planned (embeddings come first), nullopt for an empty plan. Prefill below it is SFT's.
  std::optional<std::size_t> first_changed_layer() const;
  // rotary_dim for a method whose math depends on it (procrustes, diagnose): throws Error(Format)
  // naming the missing config field rather than treating the layers as NoPE. Copying methods
  // (restore, blend) never need it.
  std::int64_t require_rotary_dim(std::string_view method) const;
  nlohmann::json to_json() const;
  std::string to_text() const;  // the human table `qkrestore plan` prints
};

// Validates that base and SFT are the same architecture (model_type, layer count and kinds, head
// counts, head_dim, every planned tensor present in both with the same shape) and builds the plan.
// Throws Error(Mismatch) naming what differs.
SurgeryPlan make_plan(const Checkpoint& base, const Checkpoint& sft, const Selection& selection, const FamilyTable& table);

}  // namespace qk
