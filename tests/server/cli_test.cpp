// The engine's commands through the built binary: `generate`, and `niah run --engine embedded`.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/magic_number_tasks.hpp"
#include "support/test_models.hpp"

namespace fs = std::filesystem;

namespace {


struct Output {
  int status;
  std::string text;
};

Output run(const std::string& args) {
  const std::string command = std::string(QK_BINARY) + " " + args + " 2>&1";
  Output out{-1, ""};
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.text.append(buffer, n);
  const int raw = pclose(pipe);
  out.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

TEST(EngineCli, GenerateReportsTokensAndFinish) {
  const Output out = run("generate --model " + qk::test::tiny_engine_model().string() + " --prompt 'Hello there' --max-tokens 5");
  EXPECT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("5 generated, finish: length"), std::string::npos) << out.text;
}

TEST(EngineCli, UnsupportedModelFailsWithAClearMessage) {
  const fs::path dir = fs::temp_directory_path() / ("qk_cli_llama_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(qk::test::tiny_engine_model() / "model.safetensors", dir / "model.safetensors");
  std::ofstream(dir / "config.json") << R"({"model_type": "llama"})";
  const Output out = run("generate --model " + dir.string() + " --prompt x");
  EXPECT_EQ(out.status, 1) << out.text;
  EXPECT_NE(out.text.find("model_type 'llama' is not supported"), std::string::npos) << out.text;
  fs::remove_all(dir);
}

TEST(EngineCli, NiahRunWithTheEmbeddedEngineWritesPredictions) {
  const fs::path dir = fs::temp_directory_path() / ("qk_cli_niah_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  qk::test::write_magic_number_tasks(dir / "tasks.jsonl", 2, "4", qk::test::PromptStyle::Plain, " Answer:", 32);
  const Output out = run("niah run --tasks " + (dir / "tasks.jsonl").string() + " --engine embedded --model " +
                         qk::test::tiny_engine_model().string() + " --max-tokens 6 -q --out " + (dir / "preds.jsonl").string());
  EXPECT_EQ(out.status, 0) << out.text;
  std::ifstream preds(dir / "preds.jsonl");
  int lines = 0;
  for (std::string line; std::getline(preds, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("pred"));
    EXPECT_LE(j["completion_tokens"].get<int>(), 6);
  }
  EXPECT_EQ(lines, 2);
  fs::remove_all(dir);
}

}  // namespace
