// End to end through the real binary: generate -> run against a real HTTP server on loopback ->
// score -> report, and the failure modes: resume, torn lines, retries, timeouts, malformed replies,
// dead servers, refused requests, API keys.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "answer_server.hpp"
#include "niah_test_support.hpp"
#include "support/temp_dir.hpp"

using namespace qk::niah::testing;

namespace {

struct CliResult {
  int status;
  std::string err;
};

CliResult run_cli(const std::filesystem::path& dir, const std::string& args) {
  const auto err = dir / "stderr.txt";
  const std::string command = std::string(QK_BINARY) + " " + args + " 2>" + err.string() + " >/dev/null";
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, qk::test::read_bytes(err)};
}

std::vector<nlohmann::json> read_lines(const std::filesystem::path& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class NiahCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    tasks_ = dir_ / "tasks.jsonl";
    const auto r = run_cli(dir_, "niah generate -q --tokenizer " + test_tokenizer_path().string() +
                                     " --data-dir " + data_dir().string() +
                                     " --tasks niah_single_1,niah_multivalue --lengths 1K --samples 4 --seed 5 --out " +
                                     tasks_.string());
    ASSERT_EQ(r.status, 0) << r.err;
  }
  CliResult run(const std::string& extra, const std::string& out = "preds.jsonl") {
    return run_cli(dir_, "niah run -q --tasks " + tasks_.string() + " --out " + (dir_ / out).string() + " " + extra);
  }
  std::filesystem::path dir_, tasks_;
};

}  // namespace

TEST_F(NiahCli, OracleServerScoresFullMarksAndTheReportIsWritten) {
  AnswerServer server;
  auto r = run("--server " + server.url() + " --model oracle -j 3");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto preds = read_lines(dir_ / "preds.jsonl");
  ASSERT_EQ(preds.size(), 8u);
  for (const auto& p : preds) EXPECT_FALSE(p["pred"].get<std::string>().empty());

  r = run_cli(dir_, "niah score " + (dir_ / "preds.jsonl").string() + " --out " + (dir_ / "summary").string());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string csv = qk::test::read_bytes(dir_ / "summary" / "summary.csv");
  EXPECT_NE(csv.find("niah_single_1,1024,4,100.00"), std::string::npos) << csv;
  EXPECT_NE(csv.find("niah_multivalue,1024,4,100.00"), std::string::npos) << csv;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "summary" / "heatmap.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "summary" / "summary.md"));

  r = run_cli(dir_, "niah report --run oracle=" + (dir_ / "summary").string() + " --out " + (dir_ / "report.html").string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(qk::test::read_bytes(dir_ / "report.html").find("<svg"), std::string::npos);
}

TEST_F(NiahCli, PartialAnswersScoreTheFractionOfValuesFound) {
  AnswerServer server;
  ASSERT_EQ(run("--server " + server.url() + " --model half").status, 0);
  auto r = run_cli(dir_, "niah score " + (dir_ / "preds.jsonl").string() + " --out " + (dir_ / "summary").string());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string csv = qk::test::read_bytes(dir_ / "summary" / "summary.csv");
  EXPECT_NE(csv.find("niah_single_1,1024,4,100.00"), std::string::npos) << csv;
  EXPECT_NE(csv.find("niah_multivalue,1024,4,25.00"), std::string::npos) << csv;  // 1 of 4 values
}

TEST_F(NiahCli, RerunSkipsDoneSamplesAndRepairsATornLastLine) {
  AnswerServer server;
  ASSERT_EQ(run("--server " + server.url() + " --model oracle --limit 5").status, 0);
  EXPECT_EQ(server.requests(), 5);
  {  // a crash in the middle of a write leaves half a line
    std::ofstream torn(dir_ / "preds.jsonl", std::ios::app);
    torn << R"({"id":"niah_multivalue/1024/3","pr)";
  }
  auto r = run("--server " + server.url() + " --model oracle");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(server.requests(), 8);
  const auto preds = read_lines(dir_ / "preds.jsonl");  // parses: the torn line is gone
  EXPECT_EQ(preds.size(), 8u);
  ASSERT_EQ(run("--server " + server.url() + " --model oracle").status, 0);
  EXPECT_EQ(server.requests(), 8);  // nothing left to do
}

TEST_F(NiahCli, RetriesThrough503And429) {
  AnswerServer server;
  auto r = run("--server " + server.url() + " --model flaky --backoff 0.01 -j 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(server.requests(), 24);  // 503, 429, then the answer, for each of 8 prompts
  EXPECT_EQ(read_lines(dir_ / "preds.jsonl").size(), 8u);
}

TEST_F(NiahCli, MalformedReplyStopsTheRunAndKeepsWhatWasDone) {
  AnswerServer server;
  auto r = run("--server " + server.url() + " --model malformed -j 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("malformed reply"), std::string::npos) << r.err;
  EXPECT_EQ(read_lines(dir_ / "preds.jsonl").size(), 3u);
}

TEST_F(NiahCli, DeadServerIsAClearErrorAfterRetries) {
  int port;
  {
    AnswerServer gone;  // take a free port, then close it
    port = gone.port();
  }
  auto r = run("--server http://127.0.0.1:" + std::to_string(port) + " --model oracle --retries 2 --backoff 0.01");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("failed after 3 attempts"), std::string::npos) << r.err;
  EXPECT_TRUE(!std::filesystem::exists(dir_ / "preds.jsonl") || qk::test::read_bytes(dir_ / "preds.jsonl").empty());
}

TEST_F(NiahCli, ReadTimeoutCountsAsAFailedAttempt) {
  AnswerServer server;
  auto r = run("--server " + server.url() + " --model slow --timeout 0.05 --retries 1 --backoff 0.01 --limit 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("failed after 2 attempts"), std::string::npos) << r.err;
}

TEST_F(NiahCli, RequestsRunConcurrently) {
  AnswerServer server;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(run("--server " + server.url() + " --model slow -j 4").status, 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(server.max_in_flight(), 2);
  EXPECT_LT(seconds, 8 * 0.3);  // serial would take 2.4 s
}

TEST_F(NiahCli, RefusedRequestFailsAtOnceWithTheServersReason) {
  AnswerServer server;
  auto r = run("--server " + server.url() + " --model forbidden --retries 3 --backoff 0.01 -j 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("HTTP 400"), std::string::npos) << r.err;
  EXPECT_EQ(server.requests(), 1);
}

TEST_F(NiahCli, ApiKeyComesFromTheEnvironment) {
  AnswerServer server;
  EXPECT_EQ(run("--server " + server.url() + " --model needs-key --limit 1 --api-key-env QK_TEST_NIAH_KEY").status, 1);
  ::setenv("QK_TEST_NIAH_KEY", "sesame", 1);
  auto r = run("--server " + server.url() + " --model needs-key --limit 1 --api-key-env QK_TEST_NIAH_KEY");
  ::unsetenv("QK_TEST_NIAH_KEY");
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(NiahCli, ChatCompletionsWithTheAnswerPrefixAsAssistantTurn) {
  AnswerServer server;
  auto r = run("--server " + server.url() + "/v1 --model oracle --api chat -j 2");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli(dir_, "niah score " + (dir_ / "preds.jsonl").string() + " --out " + (dir_ / "summary").string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(qk::test::read_bytes(dir_ / "summary" / "summary.csv").find("average,1024,8,100.00"), std::string::npos);
}

TEST_F(NiahCli, GenerateIsByteIdenticalForTheSameSeed) {
  const auto again = dir_ / "again.jsonl";
  auto r = run_cli(dir_, "niah generate -q -j 1 --tokenizer " + test_tokenizer_path().string() + " --data-dir " +
                             data_dir().string() +
                             " --tasks niah_single_1,niah_multivalue --lengths 1024 --samples 4 --seed 5 --out " +
                             again.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(qk::test::read_bytes(again), qk::test::read_bytes(tasks_));
}

TEST_F(NiahCli, BadOptionsAreUsageErrors) {
  EXPECT_EQ(run_cli(dir_, "niah generate --tokenizer x --tasks niah_nothing --out y").status, 2);
  auto r = run_cli(dir_, "niah generate --tokenizer " + test_tokenizer_path().string() + " --lengths 1K,abc --out y");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("abc"), std::string::npos) << r.err;
}

TEST_F(NiahCli, TemplateModelUsesTheModelsOwnChatTemplate) {
  // models/base ships a ChatML chat_template.jinja: the rendered turn must be niah's built-in chatml.
  const auto own = dir_ / "own.jsonl", builtin = dir_ / "builtin.jsonl";
  const std::string common = " -q -j 1 --data-dir " + data_dir().string() + " --tasks niah_single_1 --lengths 1024 --samples 2 --seed 3";
  auto r = run_cli(dir_, "niah generate --tokenizer " + (source_dir() / "models" / "base").string() + " --template model" +
                             common + " --out " + own.string());
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli(dir_, "niah generate --tokenizer " + (source_dir() / "models" / "base" / "tokenizer.json").string() +
                        " --template chatml" + common + " --out " + builtin.string());
  ASSERT_EQ(r.status, 0) << r.err;
  // The same samples, except for the template's name.
  std::ifstream a(own), b(builtin);
  int lines = 0;
  for (std::string la, lb; std::getline(a, la) && std::getline(b, lb); ++lines) {
    auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
    EXPECT_EQ(ja["template"], "model:" + (source_dir() / "models" / "base" / "chat_template.jinja").string());
    const std::string input = ja["input"];
    const std::string opener = "<|im_start|>assistant\n";
    EXPECT_EQ(input.rfind(opener), input.size() - opener.size()) << input;
    ja.erase("template");
    jb.erase("template");
    EXPECT_EQ(ja, jb);
  }
  EXPECT_EQ(lines, 2);
}

// A folder that cannot be made (a file stands where it should go) is an error naming the path, not
// a std::filesystem exception escaping as "internal error" (issue 17).
TEST_F(NiahCli, OutputUnderAFileIsAnErrorNamingThePath) {
  const std::string blocked = (tasks_ / "sub").string();
  const auto generate = run_cli(dir_, "niah generate -q --tokenizer " + test_tokenizer_path().string() + " --data-dir " +
                                          data_dir().string() + " --tasks niah_single_1 --lengths 1K --samples 1 --out " + blocked +
                                          "/tasks.jsonl");
  const auto run = run_cli(dir_, "niah run -q --tasks " + tasks_.string() + " --server http://127.0.0.1:9 --model m --out " +
                                     blocked + "/preds.jsonl");
  std::ofstream(dir_ / "preds.jsonl") << R"({"pred": "x", "outputs": ["x"]})" << '\n';
  const auto score = run_cli(dir_, "niah score " + (dir_ / "preds.jsonl").string() + " --out " + blocked + "/summary");
  for (const auto& r : {generate, run, score}) {
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find(blocked), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
}
