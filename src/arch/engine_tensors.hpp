// The checkpoint tensor names the embedded engine loads, per family, as data: families.json
// "engine_tensors" maps each role (attn.q, linear.in_qkvz, moe.expert.down, ...) to a name template with
// {layer} and {expert} (as llama.cpp's tensor-name tables do). Read once with the family's profile; the
// engine asks this table for every name it loads, and maps a name back to its role for in-memory edits.
// The repair classes (tensor_classes.hpp) are patterns over the same tensors; these are exact names, one
// per tensor the engine keeps apart (in_proj_qkvz and in_proj_ba are both class linear.in).
#pragma once
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace qk {

// Where a role's tensor lives: once per model, once per layer, once per routed expert of a layer.
enum class RoleScope { Model, Layer, Expert };

enum class EngineRole {
  Embed, LmHead, FinalNorm,                                  // model
  InputNorm, PostAttentionNorm,                              // every layer
  AttnQ, AttnK, AttnV, AttnO, AttnQNorm, AttnKNorm,          // full-attention layers
  LinearInQkvz, LinearInBa, LinearConv, LinearALog, LinearDtBias, LinearNorm, LinearOut,  // linear layers
  MlpGate, MlpUp, MlpDown,                                   // dense feed-forward
  MoeRouter,
  MoeExpertGate, MoeExpertUp, MoeExpertDown,                 // routed experts stored one by one
  MoeExpertsGateUp, MoeExpertsDown,                          // routed experts stored fused [experts, ...]
  MoeSharedGate, MoeSharedUp, MoeSharedDown,                 // the shared expert
  MoeSharedSigmoidGate,                                      // its output gate, sigmoid(w . x)
};
inline constexpr std::size_t kEngineRoleCount = static_cast<std::size_t>(EngineRole::MoeSharedSigmoidGate) + 1;

const char* engine_role_name(EngineRole role);  // "attn.q", as families.json spells it
RoleScope engine_role_scope(EngineRole role);
std::optional<EngineRole> parse_engine_role(std::string_view name);

// A tensor the engine loads: its role, layer and expert (0 where the scope has none).
struct EngineTensor {
  EngineRole role;
  std::size_t layer = 0, expert = 0;
  bool operator==(const EngineTensor&) const = default;
};

class EngineTensorNames {
 public:
  EngineTensorNames() = default;
  // An "engine_tensors" object; throws Error(Format) naming `where` and the role for an unknown role, a
  // template whose placeholders do not fit the role's scope ({layer} for layer roles, {layer} and
  // {expert} for expert roles, none for model roles), or an unknown placeholder.
  static EngineTensorNames from_json(const nlohmann::json& object, const std::string& where);

  bool empty() const;
  bool has(EngineRole role) const { return !templates_[index(role)].empty(); }
  std::vector<EngineRole> roles() const;  // those the table names, in EngineRole order
  // The tensor's name; Error(Unsupported) naming the role when the family's table has none for it.
  std::string name(EngineRole role, std::size_t layer = 0, std::size_t expert = 0) const;
  std::string name(const EngineTensor& t) const { return name(t.role, t.layer, t.expert); }
  // The role, layer and expert whose name this is (decimal indices); nullopt for a name no template makes.
  std::optional<EngineTensor> find(std::string_view name) const;

 private:
  static std::size_t index(EngineRole role) { return static_cast<std::size_t>(role); }
  std::array<std::string, kEngineRoleCount> templates_;
};

}  // namespace qk
