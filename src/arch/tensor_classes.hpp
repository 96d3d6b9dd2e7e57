// Tensor classes: the names a repair selects by (`--take mlp@0-3:0.25,attn.qk@3:3`), as data.
// families.json "tensor_classes" lists the leaf classes (every tensor of a model belongs to one, or to
// several by rows: a fused qkv_proj is attn.q, attn.k and attn.v rows) and "class_groups" the names
// that stand for several leaves (attn, attn.qk, linear, mlp, moe, ffn). Which tensors of a family fall in
// which class is the family's "classes" list (profile.hpp: ClassTemplate) plus its global_tensors
// (attn.q, attn.k, their norms, and the rows they leave: "rest").
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace qk {

struct TensorClassInfo {
  std::string name;       // "mlp.down"
  std::string about;      // one line, for `--help`, messages and docs
  bool per_layer = true;  // false: outside the layer stack (embed, lm_head, final_norm): no @LAYERS
  char per_head = 0;      // 'q' or 'k': rows cut per query head / KV group by `:GROUPS`; 0: whole tensors only
};

class TensorClasses {
 public:
  // The vocabulary of the built-in families.json (a user's --arch-file maps tensors onto these names).
  static const TensorClasses& builtin();
  static TensorClasses from_json(const nlohmann::json& defaults, const std::string& label);

  const TensorClassInfo* leaf(std::string_view name) const;
  // The leaves `name` stands for: itself for a leaf, the members of a group; empty when unknown.
  std::vector<std::string> expand(std::string_view name) const;
  // A name (leaf or group) all of whose leaves lie in (false) / outside (true) the layer stack;
  // Error(Usage) for a group that mixes both (none does in the built-in table).
  bool per_layer(std::string_view name) const;
  // True when every leaf of `name` is cut per head (attn.q, attn.k, attn.qk).
  bool per_head(std::string_view name) const;
  std::vector<std::string> leaves() const;
  std::vector<std::string> groups() const;
  // "attn.q attn.k ... (groups: attn attn.qk ...)": for messages listing the choices.
  std::string choices() const;

 private:
  std::vector<TensorClassInfo> leaves_;                   // in the table's order
  std::map<std::string, std::vector<std::string>> groups_;
};

}  // namespace qk
