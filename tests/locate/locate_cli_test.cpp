// `qkrestore locate` on the shipped models, small: two classes over two ranges in both views, two NIAH
// prompts; its three outputs, a rerun from the cache, and the refusals of bad options.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

TEST(LocateCli, BothViewsOnTheShippedModels) {
  qk::test::TempDir dir;
  const std::string models = (qk::test::source_dir() / "models").string();
  auto r = qk::test::run_qkrestore("niah generate -q --tokenizer " + models + "/base --tasks niah_single_2 --lengths 1K "
                                   "--samples 2 --seed 3 --template chatml --out " + (dir / "niah.jsonl").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string pair = "locate -q --base " + models + "/base --sft " + models + "/cot --niah " + (dir / "niah.jsonl").string() +
                           " --niah-max-tokens 12 --no-refine --out " + (dir / "out").string();
  const std::string command = pair + " --classes mlp,attn.qk,embed --groups 0-5,6-11";
  r = qk::test::run_qkrestore(command);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("forward (recall won back): "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("reverse (recall broken): "), std::string::npos) << r.output;
  std::ifstream in(dir / "out/locate.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  // mlp@0-5, mlp@6-11, attn.qk@3 (the global layer in 0-5), attn.qk@7-11, embed: in each view.
  ASSERT_EQ(j["sites"].size(), 10u);
  std::set<std::string> forward;
  for (const auto& u : j["ranking"]["forward"]) forward.insert(u.get<std::string>());
  EXPECT_EQ(forward, (std::set<std::string>{"mlp@0-5", "mlp@6-11", "attn.qk@3", "attn.qk@7-11", "embed"}));
  EXPECT_EQ(j["ranking"]["reverse"].size(), 5u);
  EXPECT_EQ(j["sites"][0]["lengths"][0]["length"], 1024);
  for (const char* file : {"locate.md", "locate.html"}) EXPECT_TRUE(fs::exists(dir / "out" / file)) << file;
  EXPECT_TRUE(fs::exists(dir / "out/candidates/reverse-mlp-0-5/niah/predictions.jsonl"));

  r = qk::test::run_qkrestore(command.substr(0, 7) + command.substr(10));  // without -q: progress, all cached
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("reverse-embed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(" s\n"), std::string::npos) << "every site comes from the cache: " << r.output;

  r = qk::test::run_qkrestore(pair + " --classes nonsense");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("'nonsense' is not a tensor class"), std::string::npos) << r.output;
  r = qk::test::run_qkrestore(pair + " --groups 0-5,4-11");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("overlaps"), std::string::npos) << r.output;
  r = qk::test::run_qkrestore(command + " --views sideways");
  EXPECT_EQ(r.status, 2) << r.output;
}

}  // namespace
