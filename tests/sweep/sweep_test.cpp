// sweep: the candidate set, the recommendation rule, and the whole command on the shipped models, in
// process and through `qkrestore serve` started per candidate by --serve-cmd (the two must agree), and
// with a family only the user's --arch-file defines.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/scores.hpp"
#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"
#include "sweep/candidate_set.hpp"
#include "sweep/recommend.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

TEST(SweepCandidates, SmallerRepairsFirstAndCumulativeTopK) {
  qk::sweep::CandidateSetOptions o;
  o.global_layers = {3, 7};
  o.ranked_groups = {"7:1", "3:0", "3:1"};
  o.top_k = 2;
  o.blend_alphas = {0.25, 0.75};
  o.procrustes_alphas = {1.0};
  const auto c = qk::sweep::make_candidates(o);
  std::vector<std::string> names;
  for (const auto& x : c) names.push_back(x.name);
  EXPECT_EQ(names, (std::vector<std::string>{"sft", "base", "top-1", "top-2", "layer-3", "layer-7", "restore", "blend-0.25",
                                             "blend-0.75", "qkpro-1"}));
  EXPECT_EQ(c[3].spec.selection.heads->to_string(), "3:0,7:1");  // canonical: by layer
  EXPECT_EQ(c[4].spec.label(), "restore layers=3");
  EXPECT_EQ(c[8].spec.label(), "blend a=0.75");
}

using qk::test::reasoning_of;
using qk::test::recall_of;

TEST(SweepRecommend, HighestRecallWhoseReasoningIsNotSignificantlyBelowSft) {
  const auto r_sft = recall_of(10, 100), r_full = recall_of(90, 100), r_group = recall_of(85, 100), r_layer = recall_of(40, 100);
  const auto q_sft = reasoning_of(60, 100), q_full = reasoning_of(30, 100), q_group = reasoning_of(55, 100), q_layer = reasoning_of(60, 100);
  const qk::sweep::Scored sft{"sft", true, &r_sft, &q_sft};
  std::vector<qk::sweep::Scored> all{sft, {"top-1", false, &r_group, &q_group}, {"layer-7", false, &r_layer, &q_layer},
                                     {"restore", false, &r_full, &q_full}};
  auto pick = qk::sweep::recommend(all, sft, nullptr, {});
  ASSERT_TRUE(pick.index);
  EXPECT_EQ(all[*pick.index].name, "top-1");  // restore's reasoning is significantly below SFT's (30 vs 60)
  pick = qk::sweep::recommend(all, sft, nullptr, {.min_reasoning = 25.0});  // a threshold instead: restore qualifies
  EXPECT_EQ(all[*pick.index].name, "restore");
  pick = qk::sweep::recommend(all, sft, nullptr, {.min_reasoning = 90.0});
  EXPECT_FALSE(pick.index);
  EXPECT_NE(pick.reason.find("no repair meets the rule"), std::string::npos);
}

TEST(SweepRecommend, ShareOfTheReasoningGainKept) {
  // base 10, SFT 60: top-1 keeps (55 - 10) / 50 = 90% of the gain, layer-7 100%, restore 40%.
  const auto r_sft = recall_of(10, 100), r_base = recall_of(100, 100), r_full = recall_of(90, 100),
             r_group = recall_of(85, 100), r_layer = recall_of(40, 100);
  const auto q_sft = reasoning_of(60, 100), q_base = reasoning_of(10, 100), q_full = reasoning_of(30, 100),
             q_group = reasoning_of(55, 100), q_layer = reasoning_of(60, 100);
  const qk::sweep::Scored sft{"sft", true, &r_sft, &q_sft}, base{"base", true, &r_base, &q_base};
  std::vector<qk::sweep::Scored> all{sft, base, {"top-1", false, &r_group, &q_group},
                                     {"layer-7", false, &r_layer, &q_layer}, {"restore", false, &r_full, &q_full}};
  auto pick = qk::sweep::recommend(all, sft, &base, {.min_gain_kept = 85.0});
  ASSERT_TRUE(pick.index);
  EXPECT_EQ(all[*pick.index].name, "top-1");
  EXPECT_EQ(pick.rule, "the highest recall among repairs with >= 85.0% of SFT's reasoning gain over base kept");
  pick = qk::sweep::recommend(all, sft, &base, {.min_gain_kept = 95.0});
  EXPECT_EQ(all[*pick.index].name, "layer-7");
  pick = qk::sweep::recommend(all, sft, &base, {.min_gain_kept = 30.0});
  EXPECT_EQ(all[*pick.index].name, "restore");
  // without base, or without a gain to keep, the rule cannot be applied: a usage error, not a guess
  EXPECT_THROW(qk::sweep::recommend(all, sft, nullptr, {.min_gain_kept = 85.0}), qk::Error);
  const qk::sweep::Scored no_gain{"base", true, &r_base, &q_sft};
  EXPECT_THROW(qk::sweep::recommend(all, sft, &no_gain, {.min_gain_kept = 85.0}), qk::Error);
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

TEST(SweepCli, InProcessAndThroughServeAgree) {
  qk::test::TempDir dir;
  const std::string models = (qk::test::source_dir() / "models").string();
  auto r = qk::test::run_qkrestore("niah generate -q --tokenizer " + models + "/base --tasks niah_single_2 --lengths 1K "
                                   "--samples 2 --seed 3 --template chatml --out " + (dir / "niah.jsonl").string());
  ASSERT_EQ(r.status, 0) << r.output;
  std::ofstream(dir / "heads.json") << R"([{"layer": 3, "kv_group": 0}, {"layer": 7, "kv_group": 1}])";
  const std::string common = "sweep -q --base " + models + "/base --sft " + models + "/cot --niah " + (dir / "niah.jsonl").string() +
                             " --reasoning " + (qk::test::source_dir() / "data/reasoning/selection.jsonl").string() +
                             " --reasoning-limit 2 --max-tokens 32 --niah-max-tokens 16 --heads-file " +
                             (dir / "heads.json").string() + " --top-k 1 --blend '' --qkpro '' --no-per-layer --no-base";
  r = qk::test::run_qkrestore(common + " --out " + (dir / "inproc").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rule: the highest recall"), std::string::npos) << r.output;
  const json inproc = read_json(dir / "inproc/sweep.json");
  ASSERT_EQ(inproc["candidates"].size(), 3u);  // sft, top-1, restore
  EXPECT_EQ(inproc["candidates"][1]["repair"], "restore heads=3:0");
  for (const char* file : {"sweep.md", "frontier.svg", "report.html"}) EXPECT_TRUE(fs::exists(dir / "inproc" / file)) << file;

  // Rerun: every candidate comes from its cache.
  r = qk::test::run_qkrestore(common.substr(0, 6) + common.substr(9) + " --out " + (dir / "inproc").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n') > 0, true);
  EXPECT_NE(r.output.find(", cached"), std::string::npos) << r.output;

  // Out of sample: chosen on another NIAH seed; the test sets' measurements above are reused.
  r = qk::test::run_qkrestore("niah generate -q --tokenizer " + models + "/base --tasks niah_single_2 --lengths 1K "
                              "--samples 2 --seed 4 --template chatml --out " + (dir / "select.jsonl").string());
  ASSERT_EQ(r.status, 0) << r.output;
  r = qk::test::run_qkrestore(common.substr(0, 6) + common.substr(9) + " --niah-select " + (dir / "select.jsonl").string() +
                              " --reasoning-select " + (qk::test::source_dir() / "data/reasoning/selection.jsonl").string() +
                              " --out " + (dir / "inproc").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("selection [3] restore"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("on the selection sets"), std::string::npos) << r.output;
  const json outside = read_json(dir / "inproc/sweep.json");
  EXPECT_EQ(outside["picked_on"], "selection");
  EXPECT_EQ(outside["selection"].size(), 3u);
  EXPECT_EQ(outside["candidates"].size(), 3u);  // every one a reference point: SFT, the one-group repair, restore
  EXPECT_EQ(outside["candidates"][0]["recall"], inproc["candidates"][0]["recall"]);
  EXPECT_TRUE(fs::exists(dir / "inproc/selection/top-1/niah/predictions.jsonl"));

  const std::string serve = "'" + std::string(QK_BINARY) + " serve --model {model} --port {port}'";
  r = qk::test::run_qkrestore(common + " --serve-cmd " + serve + " --serve-timeout 60 --out " + (dir / "served").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const json served = read_json(dir / "served/sweep.json");
  ASSERT_EQ(served["candidates"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {  // same greedy answers in process and through the server
    EXPECT_EQ(served["candidates"][i]["recall"], inproc["candidates"][i]["recall"]) << i;
    EXPECT_EQ(served["candidates"][i]["reasoning"], inproc["candidates"][i]["reasoning"]) << i;
  }
  EXPECT_FALSE(fs::exists(dir / "served/scratch/top-1")) << "the candidate checkpoint is removed after use";
  EXPECT_TRUE(fs::exists(dir / "served/candidates/top-1/server.log"));

  r = qk::test::run_qkrestore(common + " --serve-cmd 'true {model} {port}' --serve-timeout 5 --out " + (dir / "bad").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("--serve-cmd exited (status 0) before answering"), std::string::npos) << r.output;
}

// Issue 22 item 2: a family only the user's --arch-file defines, through a whole sweep. The pair is the
// shipped one with its model_type renamed ("my_next", unknown to the built-in table); the file gives
// "my_next" the built-in qwen3_next entry. The candidates must be planned and written with that table
// (before, they were planned with the built-in one and the sweep failed on the first candidate). The
// user's server knows the family: here a wrapper that serves each checkpoint it is given under the
// engine's name for it.
TEST(SweepCli, AFamilyOnlyTheArchFileDefinesRunsAWholeSweep) {
  qk::test::TempDir dir;
  const fs::path models = qk::test::source_dir() / "models";
  for (const char* which : {"base", "cot"}) {
    fs::copy(models / which, dir / which, fs::copy_options::recursive);
    std::ifstream in(dir / which / "config.json");
    json config = json::parse(in);
    config["model_type"] = "my_next";
    std::ofstream(dir / which / "config.json", std::ios::trunc) << config.dump(2);
  }
  std::ifstream table_in(qk::test::source_dir() / "src/arch/families.json");
  const json builtin = json::parse(table_in);
  std::ofstream(dir / "arch.json") << json{{"families", {{"my_next", builtin["families"]["qwen3_next"]}}}}.dump(2);
  std::ofstream(dir / "heads.json") << R"([{"layer": 3, "kv_group": 0}])";
  auto r = qk::test::run_qkrestore("niah generate -q --tokenizer " + (dir / "base").string() + " --tasks niah_single_2 --lengths 1K "
                                   "--samples 2 --seed 3 --template chatml --out " + (dir / "niah.jsonl").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string served = (dir / "served_models").string();
  const std::string serve = "mkdir -p " + served + " && rm -rf " + served + "/{port} && cp -r {model} " + served + "/{port} && sed -i " +
                            "s/my_next/qwen3_next/ " + served + "/{port}/config.json && exec " + std::string(QK_BINARY) +
                            " serve --model " + served + "/{port} --port {port}";
  const std::string common = "sweep -q --base " + (dir / "base").string() + " --sft " + (dir / "cot").string() + " --arch-file " +
                             (dir / "arch.json").string() + " --niah " + (dir / "niah.jsonl").string() + " --reasoning " +
                             (qk::test::source_dir() / "data/reasoning/selection.jsonl").string() +
                             " --reasoning-limit 2 --max-tokens 32 --niah-max-tokens 16 --heads-file " + (dir / "heads.json").string() +
                             " --top-k 1 --blend '' --qkpro '' --no-per-layer --no-base --serve-timeout 60 --serve-cmd " +
                             qk::test::shell_quote(serve);
  r = qk::test::run_qkrestore(common + " --out " + (dir / "out").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const json sweep = [&] {
    std::ifstream in(dir / "out/sweep.json");
    return json::parse(in);
  }();
  ASSERT_EQ(sweep["candidates"].size(), 3u);  // sft, top-1, restore: each measured through the user's server
  EXPECT_EQ(sweep["candidates"][1]["repair"], "restore heads=3:0");
  for (const auto& c : sweep["candidates"]) EXPECT_TRUE(c.contains("recall")) << c.dump();
}

// Issue 23 item 3: `sweep --search` searches from the best head repair over the tensor classes (a unit per
// class and quarter of the depth), out of sample with selection sets: the path chosen on them, the reference
// points and the pick reported on the test sets; the search path in sweep.json and sweep.md.
TEST(SweepCli, SearchesFromTheBestHeadRepairOutOfSample) {
  qk::test::TempDir dir;
  const std::string models = (qk::test::source_dir() / "models").string();
  for (const char* seed : {"3", "4"}) {
    auto r = qk::test::run_qkrestore("niah generate -q --tokenizer " + models + "/base --tasks niah_single_2 --lengths 1K "
                                     "--samples 2 --seed " + std::string(seed) + " --template chatml --out " +
                                     (dir / (std::string(seed) + ".jsonl")).string());
    ASSERT_EQ(r.status, 0) << r.output;
  }
  std::ofstream(dir / "heads.json") << R"([{"layer": 3, "kv_group": 0}])";
  const std::string problems = (qk::test::source_dir() / "data/reasoning/selection.jsonl").string();
  const std::string common = "sweep -q --base " + models + "/base --sft " + models + "/cot --niah " + (dir / "3.jsonl").string() +
                             " --reasoning " + problems + " --niah-select " + (dir / "4.jsonl").string() + " --reasoning-select " +
                             problems + " --reasoning-limit 2 --max-tokens 24 --niah-max-tokens 12 --heads-file " +
                             (dir / "heads.json").string() + " --no-base --weights 0.5,1 --budget 6";
  auto r = qk::test::run_qkrestore(common + " --search --out " + (dir / "out").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const json sweep = read_json(dir / "out/sweep.json");
  EXPECT_EQ(sweep["picked_on"], "selection");
  // Listed: SFT, the one-group repair top-1 (the start), the paper's restore; then the search within the budget of 6.
  ASSERT_EQ(sweep["selection"].size(), 6u) << sweep.dump();
  const json& path = sweep["search"]["path"];
  ASSERT_EQ(path.size(), 4u) << sweep["search"].dump();
  EXPECT_EQ(path[0]["candidate"], "top-1");
  EXPECT_EQ(path[0]["kind"], "start");
  // The screen: the first units of the pool (the first quarter of the depth, layers 0-2) at the middle weight.
  EXPECT_EQ(path[1]["moves"], "mlp@0-2:0.5");
  EXPECT_EQ(path[2]["moves"], "linear@0-2:0.5");
  EXPECT_NE(sweep["search"]["stopped"].get<std::string>().find("budget"), std::string::npos) << sweep["search"].dump();
  const std::string md = [&] {
    std::ifstream in(dir / "out/sweep.md");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  EXPECT_NE(md.find("## The search (4 measured"), std::string::npos) << md;
  EXPECT_NE(md.find("on the selection sets"), std::string::npos) << md;

  r = qk::test::run_qkrestore(common + " --locate-file " + (dir / "3.jsonl").string() + " --out " + (dir / "bad").string());
  EXPECT_NE(r.status, 0) << r.output;
}

}  // namespace
