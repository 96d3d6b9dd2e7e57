// families.json engine_tensors (arch/engine_tensors.hpp): names made from role templates, names mapped back
// to their role, and the checks a table gets on load. That the names match real checkpoints is
// tests/engine/engine_tensors_test.cpp's job (it loads the fixtures with the engine).
#include <gtest/gtest.h>

#include "arch/engine_tensors.hpp"
#include "arch/profile.hpp"
#include "support/family_table.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

const EngineTensorNames& qwen3_next() { return FamilyTable::builtin().find("qwen3_next")->engine_tensors; }

TEST(EngineTensorNames, NamesAreMadeFromTheTableAndMappedBack) {
  const EngineTensorNames& names = qwen3_next();
  EXPECT_EQ(names.name(EngineRole::LinearInBa, 12), "model.layers.12.linear_attn.in_proj_ba.weight");
  EXPECT_EQ(names.name(EngineRole::MoeExpertDown, 3, 250), "model.layers.3.mlp.experts.250.down_proj.weight");
  EXPECT_EQ(names.name(EngineRole::Embed), "model.embed_tokens.weight");
  // in_proj_qkvz and in_proj_ba share the repair class linear.in; the engine keeps them apart.
  EXPECT_EQ(names.find("model.layers.0.linear_attn.in_proj_qkvz.weight"), (EngineTensor{EngineRole::LinearInQkvz, 0, 0}));
  EXPECT_EQ(names.find("model.layers.7.mlp.experts.12.up_proj.weight"), (EngineTensor{EngineRole::MoeExpertUp, 7, 12}));
  EXPECT_EQ(names.find("model.layers.7.mlp.shared_expert_gate.weight"), (EngineTensor{EngineRole::MoeSharedSigmoidGate, 7, 0}));
  EXPECT_EQ(names.find("lm_head.weight"), (EngineTensor{EngineRole::LmHead, 0, 0}));
  for (const char* other : {"model.layers.x.input_layernorm.weight", "model.layers.1.input_layernorm.weightx",
                            "model.layers..mlp.gate.weight", "model.layers.1.mlp.experts.e.gate_proj.weight", ""})
    EXPECT_FALSE(names.find(other)) << other;
  for (EngineRole role : names.roles()) {
    EXPECT_EQ(parse_engine_role(engine_role_name(role)), role);
    EXPECT_EQ(names.find(names.name(role, 5, 9)), (EngineTensor{role, engine_role_scope(role) == RoleScope::Model ? 0u : 5u,
                                                               engine_role_scope(role) == RoleScope::Expert ? 9u : 0u}));
  }
}

TEST(EngineTensorNames, ARoleTheFamilyDoesNotNameIsAnErrorNamingIt) {
  const EngineTensorNames empty;
  EXPECT_TRUE(empty.empty());
  try {
    empty.name(EngineRole::AttnQ, 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attn.q"), std::string::npos) << e.what();
  }
}

void expect_refused(const std::string& engine_tensors, const std::string& needle) {
  test::expect_table_error(R"({"default_kind": "global", "global_tensors": "standard_qk", "engine_tensors": )" + engine_tensors + "}",
                           needle);
}

TEST(EngineTensorNames, ATableWithAnUnknownRoleOrAMisplacedPlaceholderIsRefused) {
  expect_refused(R"({"attn.query": "model.layers.{layer}.q.weight"})", "'attn.query'");
  expect_refused(R"({"attn.q": "model.layers.q.weight"})", "attn.q");
  expect_refused(R"({"embed": "model.layers.{layer}.embed.weight"})", "embed");
  expect_refused(R"({"moe.expert.up": "model.layers.{layer}.up.weight"})", "{expert}");
  expect_refused(R"({"attn.k": "model.layers.{layer}.{head}.weight"})", "{head}");
  expect_refused(R"({"attn.v": 3})", "attn.v");
  expect_refused(R"(["attn.v"])", "engine_tensors");
}

}  // namespace
}  // namespace qk
