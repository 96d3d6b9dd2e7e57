// The architecture table against what transformers itself says about each reference checkpoint.
#include <gtest/gtest.h>

#include "arch/layout.hpp"
#include "support/manifest.hpp"
#include "surgery/plan.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

class FamilyTest : public ::testing::TestWithParam<test::Manifest> {};

TEST_P(FamilyTest, LayerKindsMatchTheModelsOwnModules) {
  const auto& m = GetParam();
  Checkpoint sft(m.dir / "sft");
  ModelLayout layout(sft.config(), FamilyTable::builtin(), "config.json");
  std::set<int> global, sliding, linear;
  for (const auto& layer : layout.layers()) {
    if (layer.kind == LayerKind::Global) global.insert(layer.index);
    if (layer.kind == LayerKind::Sliding) sliding.insert(layer.index);
    if (layer.kind == LayerKind::Linear) linear.insert(layer.index);
  }
  EXPECT_EQ(layout.num_layers(), m.json()["num_layers"].get<int>());
  EXPECT_EQ(global, m.layers("global_layers"));
  EXPECT_EQ(sliding, m.layers("sliding_layers"));
  EXPECT_EQ(linear, m.layers("linear_layers"));
}

std::set<std::string> planned_names(const SurgeryPlan& plan) {
  std::set<std::string> names;
  for (const auto& t : plan.tensors) names.insert(t.name);
  return names;
}

TEST_P(FamilyTest, DefaultPlanTakesExactlyTheGlobalQueryKeyTensors) {
  const auto& m = GetParam();
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  EXPECT_EQ(planned_names(plan), m.global_tensors(test::kDefaultRoles));

  Selection with_norms;
  with_norms.with_qk_norm = true;
  std::set<std::string> roles = test::kDefaultRoles;
  roles.insert(test::kNormRoles.begin(), test::kNormRoles.end());
  EXPECT_EQ(planned_names(make_plan(base, sft, with_norms, FamilyTable::builtin())), m.global_tensors(roles));
}

TEST_P(FamilyTest, RowRangesMatchTheAttentionModuleLayout) {
  const auto& m = GetParam();
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  for (const auto& [layer, attention] : m.json()["global_attention"].items()) {
    const std::string layout = attention.value("layout", "plain");
    for (const auto& t : plan.tensors) {
      if (t.layer != std::stoi(layer)) continue;
      std::vector<std::pair<std::int64_t, std::int64_t>> rows;
      for (const auto& r : t.rows) rows.emplace_back(r.begin, r.end);
      if (layout == "gated" && t.name.ends_with("q_proj.weight")) {
        EXPECT_EQ(nlohmann::json(rows), attention["query_rows"]) << t.name;
      } else if (layout == "fused_qkv") {
        // Query rows then key rows: one merged range [query begin, key end).
        EXPECT_EQ(rows.size(), 1u);
        EXPECT_EQ(rows[0].first, attention["query_rows"][0].get<std::int64_t>());
        EXPECT_EQ(rows[0].second, attention["key_rows"][1].get<std::int64_t>());
      } else if (layout != "mla") {
        EXPECT_TRUE(t.whole()) << t.name;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ReferenceCheckpoints, FamilyTest, ::testing::ValuesIn(test::all_manifests()), test::manifest_name);

TEST(FamilyTable, GatedQueryRowsCanIncludeTheGate) {
  auto dir = test::checkpoints_dir() / "qwen3_next";
  Checkpoint base(dir / "base"), sft(dir / "sft");
  Selection options;
  options.include_gate = true;
  for (const auto& t : make_plan(base, sft, options, FamilyTable::builtin()).tensors) EXPECT_TRUE(t.whole()) << t.name;
}

TEST(FamilyTable, KimiMlaRestoresOnlyKeyRowsOfTheSharedKvProjections) {
  auto dir = test::checkpoints_dir() / "kimi_linear";
  Checkpoint base(dir / "base"), sft(dir / "sft");
  const auto& config = sft.config();
  const std::int64_t rank = config["kv_lora_rank"], rope = config["qk_rope_head_dim"], nope = config["qk_nope_head_dim"],
                     v = config["v_head_dim"], heads = config["num_attention_heads"];
  for (const auto& t : make_plan(base, sft, {}, FamilyTable::builtin()).tensors) {
    if (t.name.ends_with("kv_a_proj_with_mqa.weight")) {
      ASSERT_EQ(t.rows.size(), 1u);
      EXPECT_EQ(t.rows[0].begin, rank);
      EXPECT_EQ(t.rows[0].end, rank + rope);
    }
    if (t.name.ends_with("kv_b_proj.weight")) {
      ASSERT_EQ(static_cast<std::int64_t>(t.rows.size()), heads);
      for (std::int64_t h = 0; h < heads; ++h) {
        EXPECT_EQ(t.rows[h].begin, h * (nope + v));
        EXPECT_EQ(t.rows[h].end, h * (nope + v) + nope);
      }
    }
  }
}

TEST(FamilyTable, UnknownModelTypeListsTheSupportedOnesAndTheOverrides) {
  nlohmann::json config = {{"model_type", "mystery_hybrid"}, {"num_hidden_layers", 4}};
  try {
    ModelLayout layout(config, FamilyTable::builtin(), "x/config.json");
    FAIL();
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    for (const char* needle : {"mystery_hybrid", "qwen3_next", "nemotron_h", "--arch-file", "--tensors", "x/config.json"})
      EXPECT_NE(message.find(needle), std::string::npos) << needle << " missing from: " << message;
  }
}

TEST(FamilyTable, UserTableAddsAFamily) {
  nlohmann::json table = {{"families",
                           {{"my_hybrid",
                             {{"layer_kinds", {{{"list", "blocks"}, {"values", {{"A", "global"}, {"R", "linear"}}}}}},
                              {"global_tensors", "standard_qk"}}}}}};
  FamilyTable families = FamilyTable::builtin();
  families.merge(FamilyTable::from_json(table, "user.json"));
  nlohmann::json config = {{"model_type", "my_hybrid"}, {"num_hidden_layers", 3}, {"blocks", {"R", "A", "R"}},
                           {"num_attention_heads", 2}, {"hidden_size", 8}};
  ModelLayout layout(config, families, "config.json");
  EXPECT_EQ(layout.layers()[1].kind, LayerKind::Global);
  EXPECT_EQ(layout.layers()[0].kind, LayerKind::Linear);
  config["blocks"] = {"R", "A", "X"};
  EXPECT_THROW(ModelLayout(config, families, "config.json"), Error);
}

TEST(FamilyTable, MalformedLayerTypesNameTheField) {
  nlohmann::json config = {{"model_type", "qwen3_next"}, {"num_hidden_layers", 4}, {"layer_types", {"full_attention"}}};
  try {
    ModelLayout layout(config, FamilyTable::builtin(), "cfg");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer_types"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qk
