// Per-family architecture knowledge, loaded from data (src/arch/families.json, compiled in, plus
// optional user files): how config.json names each layer's kind and where the query/key rows of the
// global attention layers live. See the `_comment` block of families.json for the schema.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/engine_tensors.hpp"

namespace qk {

enum class LayerKind { Global, Sliding, Linear, Mlp, Moe };
const char* layer_kind_name(LayerKind kind);
std::optional<LayerKind> parse_layer_kind(std::string_view name);

enum class TensorPart { Weight, Bias, Norm };
const char* tensor_part_name(TensorPart part);

// Row blocks of a tensor: block h covers rows [offset + h*stride, offset + h*stride + block), h < count.
// Each field is an expression over dims and config keys.
struct RowBlocksSpec {
  std::string count = "1";
  std::string block;
  std::string stride;  // empty: equal to block
  std::string offset = "0";
};

struct TensorTemplate {
  char side = 'q';  // 'q' or 'k'
  TensorPart part = TensorPart::Weight;
  std::string name;   // below "{layers}.{i}."; empty when `match` is used
  std::string match;  // regular expression below "{layers}.{i}." (whole tensors)
  bool optional = false;
  std::string gated;  // expression: nonzero means `rows` select query rows out of query+gate rows
  std::optional<RowBlocksSpec> rows;
  std::string rest;   // the tensor class of the rows the q/k row blocks leave ("attn.gate", "attn.v"); may be empty
};

// Which tensors fall in a tensor class (tensor_classes.hpp): a pattern below "{layers}.{i}." in layers
// of the given kinds, or (outside) a pattern on the whole name of a tensor outside the layer stack.
struct ClassTemplate {
  std::string tensor_class;  // a leaf of tensor_classes
  std::string match;         // regular expression, matched in full
  bool outside = false;
  std::vector<LayerKind> kinds;  // empty: every kind
};

struct LayerKindSource {
  enum class Type { List, Pattern, Period, Every, Indices } type;
  std::string key;
  std::string offset_key;                   // Period
  int base = 0;                             // Indices: 0- or 1-based
  std::map<std::string, LayerKind> values;  // List, Pattern
  LayerKind hit = LayerKind::Global, miss = LayerKind::Linear;
};

struct PositionSpec {
  bool rope = true;
  std::string rotary_dim;  // expression
  std::string nope_when_key, nope_when_value;
};

struct FamilyProfile {
  std::string model_type;
  std::vector<std::string> aliases;
  std::string description;
  std::string config_root;  // sub-object of config.json holding the text model's keys, when present
  std::string layer_count;  // expression
  std::vector<std::string> layer_prefixes;
  std::vector<LayerKindSource> kind_sources;
  std::optional<LayerKind> default_kind;  // when no source key is present in config.json
  std::map<std::string, std::string> dims;
  PositionSpec position;
  std::vector<TensorTemplate> global_tensors;
  std::vector<std::string> ffn_tensors;  // name parts of feed-forward tensors
  std::vector<ClassTemplate> class_templates;  // "classes"; attn.q/attn.k come from global_tensors
  EngineTensorNames engine_tensors;  // the exact names the embedded engine loads; empty for families it does not run
};

class FamilyTable {
 public:
  static const FamilyTable& builtin();
  // Parses a table in the families.json schema; throws Error(Format) naming `label` and the field.
  static FamilyTable from_json(const nlohmann::json& table, const std::string& label);
  static FamilyTable from_file(const std::filesystem::path& path);

  // Adds (or replaces) every family of `other`; the user's file wins over the built-in table.
  void merge(const FamilyTable& other);
  const FamilyProfile* find(std::string_view model_type) const;  // by model_type or alias
  std::vector<std::string> model_types() const;

 private:
  std::map<std::string, FamilyProfile> families_;
};

}  // namespace qk
