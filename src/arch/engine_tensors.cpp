#include "arch/engine_tensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"

namespace qk {
namespace {

struct RoleInfo {
  EngineRole role;
  const char* name;
  RoleScope scope;
};

constexpr RoleInfo kRoles[] = {
    {EngineRole::Embed, "embed", RoleScope::Model},
    {EngineRole::LmHead, "lm_head", RoleScope::Model},
    {EngineRole::FinalNorm, "final_norm", RoleScope::Model},
    {EngineRole::InputNorm, "norm.input", RoleScope::Layer},
    {EngineRole::PostAttentionNorm, "norm.post_attention", RoleScope::Layer},
    {EngineRole::AttnQ, "attn.q", RoleScope::Layer},
    {EngineRole::AttnK, "attn.k", RoleScope::Layer},
    {EngineRole::AttnV, "attn.v", RoleScope::Layer},
    {EngineRole::AttnO, "attn.o", RoleScope::Layer},
    {EngineRole::AttnQNorm, "attn.q_norm", RoleScope::Layer},
    {EngineRole::AttnKNorm, "attn.k_norm", RoleScope::Layer},
    {EngineRole::LinearInQkvz, "linear.in_qkvz", RoleScope::Layer},
    {EngineRole::LinearInBa, "linear.in_ba", RoleScope::Layer},
    {EngineRole::LinearConv, "linear.conv", RoleScope::Layer},
    {EngineRole::LinearALog, "linear.A_log", RoleScope::Layer},
    {EngineRole::LinearDtBias, "linear.dt_bias", RoleScope::Layer},
    {EngineRole::LinearNorm, "linear.norm", RoleScope::Layer},
    {EngineRole::LinearOut, "linear.out", RoleScope::Layer},
    {EngineRole::MlpGate, "mlp.gate", RoleScope::Layer},
    {EngineRole::MlpUp, "mlp.up", RoleScope::Layer},
    {EngineRole::MlpDown, "mlp.down", RoleScope::Layer},
    {EngineRole::MoeRouter, "moe.router", RoleScope::Layer},
    {EngineRole::MoeExpertGate, "moe.expert.gate", RoleScope::Expert},
    {EngineRole::MoeExpertUp, "moe.expert.up", RoleScope::Expert},
    {EngineRole::MoeExpertDown, "moe.expert.down", RoleScope::Expert},
    {EngineRole::MoeExpertsGateUp, "moe.experts.gate_up", RoleScope::Layer},
    {EngineRole::MoeExpertsDown, "moe.experts.down", RoleScope::Layer},
    {EngineRole::MoeSharedGate, "moe.shared.gate", RoleScope::Layer},
    {EngineRole::MoeSharedUp, "moe.shared.up", RoleScope::Layer},
    {EngineRole::MoeSharedDown, "moe.shared.down", RoleScope::Layer},
    {EngineRole::MoeSharedSigmoidGate, "moe.shared.sigmoid_gate", RoleScope::Layer},
};
static_assert(std::size(kRoles) == kEngineRoleCount);
constexpr bool roles_in_enum_order() {
  for (std::size_t i = 0; i < std::size(kRoles); ++i)
    if (static_cast<std::size_t>(kRoles[i].role) != i) return false;
  return true;
}
static_assert(roles_in_enum_order(), "kRoles is indexed by EngineRole");

const RoleInfo& role_info(EngineRole role) { return kRoles[static_cast<std::size_t>(role)]; }

constexpr std::string_view kLayer = "{layer}", kExpert = "{expert}";

// Reads a run of decimal digits at name[i..] into value; false when there is none.
bool read_decimal(std::string_view name, std::size_t& i, std::size_t& value) {
  const std::size_t start = i;
  value = 0;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9' && i - start < 18)
    value = value * 10 + static_cast<std::size_t>(name[i++] - '0');
  return i > start;
}

// `name` made by `pattern` (literal text, {layer}, {expert}): the indices, else nullopt.
std::optional<EngineTensor> match_template(std::string_view pattern, std::string_view name, EngineRole role) {
  EngineTensor t{role};
  std::size_t p = 0, i = 0;
  while (p < pattern.size()) {
    std::size_t* index = pattern.substr(p).starts_with(kLayer) ? &t.layer : pattern.substr(p).starts_with(kExpert) ? &t.expert : nullptr;
    if (index) {
      if (!read_decimal(name, i, *index)) return std::nullopt;
      p += index == &t.layer ? kLayer.size() : kExpert.size();
    } else {
      if (i >= name.size() || name[i] != pattern[p]) return std::nullopt;
      ++i, ++p;
    }
  }
  if (i != name.size()) return std::nullopt;
  return t;
}

void replace_placeholder(std::string& text, std::string_view placeholder, std::size_t value) {
  for (std::size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at))
    text.replace(at, placeholder.size(), std::to_string(value));
}

}  // namespace

const char* engine_role_name(EngineRole role) { return role_info(role).name; }
RoleScope engine_role_scope(EngineRole role) { return role_info(role).scope; }

std::optional<EngineRole> parse_engine_role(std::string_view name) {
  for (const auto& r : kRoles)
    if (name == r.name) return r.role;
  return std::nullopt;
}

EngineTensorNames EngineTensorNames::from_json(const nlohmann::json& object, const std::string& where) {
  if (!object.is_object()) fail(ErrorKind::Format, "{}: 'engine_tensors' must be an object (role: name template)", where);
  EngineTensorNames names;
  for (const auto& [key, value] : object.items()) {
    const auto role = parse_engine_role(key);
    if (!role) {
      std::vector<std::string> choices;
      for (const auto& r : kRoles) choices.emplace_back(r.name);
      fail(ErrorKind::Format, "{}: engine_tensors: unknown role '{}' (roles: {})", where, key, fmt::join(choices, ", "));
    }
    if (!value.is_string() || value.get<std::string>().empty())
      fail(ErrorKind::Format, "{}: engine_tensors.{}: a name template must be a non-empty string", where, key);
    const std::string pattern = value.get<std::string>();
    std::size_t layers = 0, experts = 0;
    for (std::size_t at = pattern.find('{'); at != std::string::npos; at = pattern.find('{', at + 1)) {
      const std::string_view rest = std::string_view(pattern).substr(at);
      if (rest.starts_with(kLayer)) ++layers;
      else if (rest.starts_with(kExpert)) ++experts;
      else fail(ErrorKind::Format, "{}: engine_tensors.{}: '{}' has a placeholder other than {{layer}} and {{expert}}", where, key, pattern);
    }
    const RoleScope scope = engine_role_scope(*role);
    const std::size_t want_layers = scope == RoleScope::Model ? 0 : 1, want_experts = scope == RoleScope::Expert ? 1 : 0;
    if (layers != want_layers || experts != want_experts)
      fail(ErrorKind::Format, "{}: engine_tensors.{}: '{}' needs {} (a {} tensor)", where, key, pattern,
           scope == RoleScope::Model ? "no placeholder" : scope == RoleScope::Layer ? "{layer} once and no {expert}" : "{layer} and {expert} once each",
           scope == RoleScope::Model ? "model" : scope == RoleScope::Layer ? "per-layer" : "per-expert");
    names.templates_[index(*role)] = pattern;
  }
  return names;
}

bool EngineTensorNames::empty() const {
  for (const auto& t : templates_)
    if (!t.empty()) return false;
  return true;
}

std::vector<EngineRole> EngineTensorNames::roles() const {
  std::vector<EngineRole> out;
  for (const auto& r : kRoles)
    if (has(r.role)) out.push_back(r.role);
  return out;
}

std::string EngineTensorNames::name(EngineRole role, std::size_t layer, std::size_t expert) const {
  std::string text = templates_[index(role)];
  if (text.empty())
    fail(ErrorKind::Unsupported, "families.json: the family's engine_tensors has no name for role '{}'", engine_role_name(role));
  replace_placeholder(text, kLayer, layer);
  replace_placeholder(text, kExpert, expert);
  return text;
}

std::optional<EngineTensor> EngineTensorNames::find(std::string_view name) const {
  for (const auto& r : kRoles)
    if (has(r.role))
      if (auto t = match_template(templates_[index(r.role)], name, r.role)) return t;
  return std::nullopt;
}

}  // namespace qk
