// Tensor classes (families.json) against the transformers-made reference checkpoints: every row of every
// tensor falls in exactly one class (or the tensor is reported as outside every class: the vision tower
// of qwen3_5), every tensor of a softmax-attention module transformers names is in an attn.* class,
// and the table's vocabulary and patterns are checked on load.
#include <map>

#include <gtest/gtest.h>

#include "arch/layout.hpp"
#include "arch/tensor_classes.hpp"
#include "support/family_table.hpp"
#include "support/manifest.hpp"
#include "surgery/plan.hpp"
#include "surgery/tensor_class_map.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

class ClassTest : public ::testing::TestWithParam<test::Manifest> {};

TensorClassMap classify(const test::Manifest& m) {
  const Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  const ModelLayout layout(sft.config(), FamilyTable::builtin(), "config.json");
  return classify_tensors(sft, layout, plan.layer_prefix);
}

TEST_P(ClassTest, EveryRowOfEveryTensorFallsInExactlyOneClass) {
  const auto& m = GetParam();
  const Checkpoint sft(m.dir / "sft");
  const TensorClassMap map = classify(m);
  std::map<std::string, std::vector<int>> covered;  // tensor -> times each row is covered
  for (const auto& name : sft.tensor_names()) covered[name].assign(sft.at(name).info->rows(), 0);
  for (const auto& piece : map.pieces) {
    ASSERT_TRUE(TensorClasses::builtin().leaf(piece.tensor_class)) << piece.tensor_class;
    auto& rows = covered.at(piece.name);
    if (piece.rows.empty())
      for (int& c : rows) ++c;
    for (const auto& r : piece.rows)
      for (auto i = r.begin; i < r.end; ++i) ++rows.at(i);
  }
  const std::set<std::string> unclassified(map.unclassified.begin(), map.unclassified.end());
  for (const auto& [name, rows] : covered) {
    if (unclassified.count(name)) {
      // Only a vision tower stays outside the classes (the repair is of the language model).
      EXPECT_EQ(name.rfind("model.visual.", 0), 0u) << m.name << ": " << name << " is in no class";
      continue;
    }
    for (std::size_t i = 0; i < rows.size(); ++i)
      ASSERT_EQ(rows[i], 1) << m.name << ": row " << i << " of " << name << " is in " << rows[i] << " classes";
  }
}

TEST_P(ClassTest, SoftmaxAttentionTensorsAreAttentionClassesAndNothingElseIs) {
  const auto& m = GetParam();
  std::map<std::string, std::set<std::string>> classes_of;
  for (const auto& piece : classify(m).pieces) classes_of[piece.name].insert(piece.tensor_class);
  // The tensors of each softmax-attention module, as the manifest lists them: its "attention" modules
  // (transformers' own classes), or for the custom-code families (hypenet, jet_nemotron) the mixer
  // tensors of each layer with the layer's kind.
  std::set<std::string> attention, linear;
  for (const auto& layer : m.json()["layers"]) {
    if (layer.contains("attention"))
      for (const auto& module : layer["attention"])
        for (const auto& t : module["tensors"]) attention.insert(t["saved_name"].get<std::string>());
    if (layer.contains("tensors")) {
      const std::string kind = layer["kind"].get<std::string>();
      for (const auto& t : layer["tensors"]) (kind == "linear" ? linear : attention).insert(t.get<std::string>());
    }
  }
  for (const auto& name : attention)
    for (const auto& c : classes_of[name]) EXPECT_EQ(c.rfind("attn.", 0), 0u) << m.name << ": " << name << " is " << c;
  for (const auto& name : linear)
    for (const auto& c : classes_of[name]) EXPECT_EQ(c.rfind("linear.", 0), 0u) << m.name << ": " << name << " is " << c;
  for (const auto& [name, classes] : classes_of)
    for (const auto& c : classes) {
      if (c.rfind("attn.", 0) == 0 && !attention.count(name)) {
        // zamba2's hybrid layers project the shared block's output with `linear`: attn.o, outside the module.
        EXPECT_TRUE(m.name == "zamba2" && name.ends_with(".linear.weight")) << m.name << ": " << name << " is " << c;
      }
    }
}

INSTANTIATE_TEST_SUITE_P(ReferenceCheckpoints, ClassTest, ::testing::ValuesIn(test::all_manifests()), test::manifest_name);

TEST(TensorClasses, EveryBuiltInFamilyNamesItsClasses) {
  for (const auto& model_type : FamilyTable::builtin().model_types())
    EXPECT_FALSE(FamilyTable::builtin().find(model_type)->class_templates.empty()) << model_type;
  EXPECT_EQ(FamilyTable::builtin().model_types().size(), 22u);
}

TEST(TensorClasses, RowSplitsOfFusedAndGatedProjections) {
  auto pieces_of = [](const std::string& fixture, const std::string& name) {
    std::map<std::string, std::vector<RowRange>> out;
    for (const auto& p : classify(test::load_manifest(fixture, test::checkpoints_dir() / fixture)).pieces)
      if (p.name == name) out[p.tensor_class] = p.rows;
    return out;
  };
  // qwen3_next: q_proj holds [query | gate] per head (4 heads of 16): query rows attn.q, gate rows attn.gate.
  const auto q = pieces_of("qwen3_next", "model.layers.1.self_attn.q_proj.weight");
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q.at("attn.q").front().begin, 0);
  EXPECT_EQ(q.at("attn.q").front().end, 16);
  EXPECT_EQ(q.at("attn.gate").front().begin, 16);
  EXPECT_EQ(q.at("attn.gate").front().end, 32);
  // phi3: qkv_proj = query rows, key rows, value rows.
  const auto qkv = pieces_of("phi3", "model.layers.0.self_attn.qkv_proj.weight");
  EXPECT_EQ(qkv.size(), 3u);
  EXPECT_TRUE(qkv.count("attn.v"));
}

TEST(TensorClasses, TheGrammarsNamesComeFromTheTable) {
  const TensorClasses& c = TensorClasses::builtin();
  EXPECT_EQ(c.expand("attn.qk"), (std::vector<std::string>{"attn.q", "attn.k"}));
  EXPECT_EQ(c.expand("mlp.down"), (std::vector<std::string>{"mlp.down"}));
  EXPECT_TRUE(c.expand("nonsense").empty());
  EXPECT_TRUE(c.per_head("attn.qk"));
  EXPECT_FALSE(c.per_head("attn"));
  EXPECT_FALSE(c.per_layer("embed"));
  EXPECT_TRUE(c.per_layer("ffn"));
}

TEST(TensorClasses, ATableNamingAnUnknownClassOrSetIsRefused) {
  using test::expect_table_error;
  const std::string head = R"({"default_kind": "global", "global_tensors": "standard_qk", "classes": )";
  expect_table_error(head + R"([{"class": "mlp.middle", "match": "mlp"}]})", "'mlp.middle'");
  expect_table_error(head + R"(["no_such_set"]})", "'no_such_set'");
  expect_table_error(head + R"([{"class": "embed", "match": "embed"}]})", "outside");
  expect_table_error(head + R"([{"class": "mlp.down", "match": "mlp(("}]})", "mlp((");
}

}  // namespace
}  // namespace qk
