// qkrestore heads: drift-only ranking on the transformers-made pairs of several families, the
// engine evidence on the shipped models, and the CLI end to end.
#include <gtest/gtest.h>

#include "heads/evidence.hpp"
#include "heads/heads.hpp"
#include "heads/probe_sample.hpp"
#include "io/checkpoint.hpp"
#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::heads {
namespace {

class DriftOnly : public ::testing::TestWithParam<std::string> {};

TEST_P(DriftOnly, EveryGroupOfEveryGlobalLayerRankedByDrift) {
  HeadsOptions o;
  o.base = test::checkpoints_dir() / GetParam() / "base";
  o.sft = test::checkpoints_dir() / GetParam() / "sft";
  o.quiet = true;
  const HeadsReport r = find_heads(o, FamilyTable::builtin());
  const auto manifest = read_json_file(test::checkpoints_dir() / GetParam() / "manifest.json");
  const auto globals = manifest["global_layers"].get<std::vector<int>>();
  EXPECT_EQ(r.global_layers, globals);
  const auto& attention = manifest["global_attention"][std::to_string(globals.front())];
  ASSERT_EQ(r.groups.size(), globals.size() * attention["num_kv_heads"].get<std::size_t>());
  std::set<std::pair<int, int>> seen;
  for (std::size_t i = 0; i < r.groups.size(); ++i) {
    const auto& g = r.groups[i];
    seen.insert({g.layer, g.kv_group});
    EXPECT_EQ(g.decided_by, "drift");
    EXPECT_GT(g.drift, 0.0);  // SFT moved every fixture's weights
    EXPECT_EQ(g.heads.size(), attention["num_heads"].get<std::size_t>() / attention["num_kv_heads"].get<std::size_t>());
    if (i > 0) {
      EXPECT_GE(r.groups[i - 1].drift, g.drift);
    }
    // Query head h reads KV head h / (heads / kv_heads).
    for (const auto& h : g.heads) EXPECT_EQ(h.head / static_cast<int>(g.heads.size()), g.kv_group);
  }
  EXPECT_EQ(seen.size(), r.groups.size());
  const auto json = to_json(r);
  ASSERT_EQ(json.size(), r.groups.size());
  EXPECT_EQ(json[0]["layer"], r.groups[0].layer);
  EXPECT_TRUE(json[0]["recall_gain"].is_null());
}

INSTANTIATE_TEST_SUITE_P(Families, DriftOnly, ::testing::Values("llama", "qwen3_next", "phi3", "gemma3", "qwen2", "nemotron_h"));

TEST(Heads, RefusesWhatCannotBeCutPerHead) {
  for (const char* family : {"kimi_linear", "zamba2"}) {
    HeadsOptions o;
    o.base = test::checkpoints_dir() / family / "base";
    o.sft = test::checkpoints_dir() / family / "sft";
    o.quiet = true;
    EXPECT_THROW(find_heads(o, FamilyTable::builtin()), Error) << family;
  }
  HeadsOptions o;
  o.base = test::checkpoints_dir() / "llama" / "base";
  o.sft = test::checkpoints_dir() / "llama" / "sft";
  o.engine = true;
  o.quiet = true;
  try {
    find_heads(o, FamilyTable::builtin());
    ADD_FAILURE() << "llama ran on the engine";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qwen3_next"), std::string::npos) << e.what();
  }
}

// The needle's value tokens in the prompt spell the value, and the teacher-forced answer is the value.
TEST(ProbeSample, NeedleAndAnswerTokensSpellTheValue) {
  const auto model = test::source_dir() / "models" / "cot";
  const auto samples = generate_niah_samples(model.string(), "niah_single_2", {512}, 2, 3, "chatml", 16);
  const Tokenizer tokenizer = Tokenizer::from_file(model / "tokenizer.json");
  for (const auto& s : samples) {
    const ProbeSample p = make_probe_sample(s, tokenizer);
    std::vector<std::int32_t> needle;
    for (std::size_t j : p.needle) needle.push_back(p.prompt[j]);
    EXPECT_NE(tokenizer.decode(needle).find(s.outputs[0]), std::string::npos) << tokenizer.decode(needle);
    EXPECT_LE(tokenizer.decode(needle).size(), s.outputs[0].size() + 2);
    EXPECT_EQ(tokenizer.decode(p.answer), " " + s.outputs[0]);
  }
}

// End to end on the shipped models, small enough for seconds: every KV group of every global layer is
// ranked, the two best by retrieval and drift also by the recall gained in memory (--recall-top 2).
TEST(HeadsCli, ShippedModelsWithTheEngine) {
  test::TempDir dir;
  const auto models = test::source_dir() / "models";
  const auto r = test::run_qkrestore("heads --base " + (models / "base").string() + " --sft " + (models / "cot").string() +
                                     " --engine embedded --samples 2 --lengths 256 --recall-top 2 --always-recall -q --out " + (dir / "h").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto config = read_json_file(models / "cot" / "config.json");
  std::size_t global = 0;
  for (const auto& type : config["layer_types"]) global += type == "full_attention";
  const std::size_t kv_heads = config["num_key_value_heads"], heads = config["num_attention_heads"];
  const auto list = read_json_file(dir / "h" / "heads.json");
  ASSERT_EQ(list.size(), global * kv_heads);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& g = list[i];
    EXPECT_EQ(g["decided_by"], i < 2 ? "recall_gain" : "retrieval_base") << i;
    EXPECT_EQ(g["recall_gain"].is_object(), i < 2) << i;
    EXPECT_TRUE(g["retrieval_base"].is_object());
    EXPECT_EQ(g["query_heads"].size(), heads / kv_heads);
    EXPECT_GE(g["mass_base"]["low"].get<double>(), 0.0);
    EXPECT_LE(g["mass_base"]["high"].get<double>(), 1.0);
  }
  for (std::size_t i = 3; i < list.size(); ++i) EXPECT_GE(list[i - 1]["score"].get<double>(), list[i]["score"].get<double>());
  // Without --always-recall, samples on which SFT loses nothing measure no gain, and say so.
  const auto quick = test::run_qkrestore("heads --base " + (models / "base").string() + " --sft " + (models / "cot").string() +
                                         " --engine embedded --samples 1 --lengths 256 -q --out " + (dir / "q").string());
  ASSERT_EQ(quick.status, 0) << quick.output;
  const auto quick_list = read_json_file(dir / "q" / "heads.json");
  if (quick_list[0]["recall_gain"].is_null()) {
    EXPECT_NE(quick.output.find("no recall to win back"), std::string::npos) << quick.output;
  }
  EXPECT_NE(r.output.find("| 1 | `"), std::string::npos) << r.output;
  EXPECT_NE(test::read_bytes(dir / "h" / "heads.svg").find("<svg"), std::string::npos);
  const auto bad = test::run_qkrestore("heads --base " + (models / "base").string() + " --sft " + (models / "cot").string() +
                                       " --engine gpu --out " + (dir / "x").string());
  EXPECT_EQ(bad.status, 2) << bad.output;
}

}  // namespace
}  // namespace qk::heads

// heads' recall uses the one Wilson interval (issue 22): no samples is 0 [0, 100] as in niah and eval.
TEST(HeadsRecall, IntervalIsTheSharedWilson) {
  qk::heads::RecallResult none;
  EXPECT_EQ(none.recall().high, 100);
  qk::heads::RecallResult some;
  some.scores = {1, 0, 1, 1};
  const auto shared = qk::wilson_interval(3, 4);
  EXPECT_DOUBLE_EQ(some.recall().value, 75);
  EXPECT_DOUBLE_EQ(some.recall().low, 100 * shared.low);
  EXPECT_DOUBLE_EQ(some.recall().high, 100 * shared.high);
}
