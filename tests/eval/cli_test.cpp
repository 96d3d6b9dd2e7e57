// `eval run | score` and `report` through the built binary, against a scripted OpenAI-compatible
// server on loopback (replies in the formats models really write, and failures on request) and the
// embedded engine.
#include <fstream>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"
#include "support/test_models.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kGsm8k = qk::test::source_dir() / "testdata/eval/gsm8k_small.jsonl";

// Replies to the eight problems of gsm8k_small.jsonl by the first words of the question. Six are
// right in six formats, one is wrong, one is cut while still thinking: 6 of 8.
const std::map<std::string, std::pair<std::string, std::string>> kReplies = {
    {"Natalia", {"She sold 24 in May, so 48 + 24 = 72 in all. \\boxed{72}", "stop"}},
    {"Weng", {"0.2 x 50 = 10\n#### 10", "stop"}},
    {"A farmer", {"3 x 1250 = 3750. The answer is 3,750.", "stop"}},
    {"Tom", {"<think>5 - 8 is -3</think>He owes 3, so the answer is -3.", "stop"}},
    {"A tank", {"The answer is 5 liters.", "stop"}},
    {"Sam", {"12 * 7 = 74. The answer is 74.", "stop"}},
    {"A shirt", {"25% of 20 is 5, 20 - 5 = 15 dollars", "stop"}},
    {"Each box", {"<think>40 / 6 is 6.67 so I need", "length"}},
};

class ReplyServer {
 public:
  ReplyServer() {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) { handle(q, r, true); });
    server_.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r) { handle(q, r, false); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ReplyServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }
  json last_body() {
    std::lock_guard lock(mutex_);
    return last_body_;
  }

 private:
  void handle(const httplib::Request& request, httplib::Response& response, bool chat) {
    ++requests_;
    const json body = json::parse(request.body);
    {
      std::lock_guard lock(mutex_);
      last_body_ = body;
    }
    const std::string model = body["model"];
    if (model == "down") {
      response.status = 500;
      response.set_content(R"({"error": {"message": "engine crashed"}})", "application/json");
      return;
    }
    if (model == "flaky" && (failures_++ % 2 == 0)) {
      response.status = 503;
      response.set_content(R"({"error": {"message": "busy"}})", "application/json");
      return;
    }
    if (model == "silent") {  // a chat model given raw text: it ends its turn at once
      json choice = {{"index", 0}, {"finish_reason", "stop"}, {"text", ""}};
      response.set_content(json{{"choices", {choice}}, {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 0}}}}.dump(),
                           "application/json");
      return;
    }
    const std::string text = chat ? body["messages"].back()["content"].get<std::string>() : body["prompt"].get<std::string>();
    std::pair<std::string, std::string> reply{"I do not know.", "stop"};
    std::size_t best = std::string::npos;  // the question asked last (k-shot prompts hold others before it)
    for (const auto& [start, r] : kReplies)
      if (auto at = text.rfind(start); at != std::string::npos && (best == std::string::npos || at > best)) best = at, reply = r;
    json choice = {{"index", 0}, {"finish_reason", reply.second}};
    if (chat) choice["message"] = {{"role", "assistant"}, {"content", reply.first}};
    else choice["text"] = reply.first;
    response.set_content(json{{"choices", {choice}}, {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}}}}.dump(),
                         "application/json");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0}, failures_{0};
  std::mutex mutex_;
  json last_body_;
};

std::vector<json> read_lines(const fs::path& path) {
  std::vector<json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(json::parse(line));
  return lines;
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

class EvalCli : public testing::Test {
 protected:
  qk::test::TempDir dir_;
  qk::test::RunResult run(const std::string& args) { return qk::test::run_qkrestore(args); }
  std::string preds() const { return (dir_ / "preds.jsonl").string(); }
};

TEST_F(EvalCli, ScoresTrickyRepliesFromAServer) {
  ReplyServer server;
  auto r = run("eval run -q --tasks " + kGsm8k.string() + " --server " + server.url() + " --model oracle --api chat -j 3 --out " + preds());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto lines = read_lines(preds());
  ASSERT_EQ(lines.size(), 8u);
  std::map<std::string, json> by_id;
  for (const auto& line : lines) {
    for (const char* field : {"id", "prompt", "pred", "extracted", "gold", "correct", "finish_reason"})
      EXPECT_TRUE(line.contains(field)) << field << " missing in " << line.dump();
    by_id[line["id"]] = line;
  }
  EXPECT_EQ(by_id["1"]["extracted"], "72");
  EXPECT_EQ(by_id["1"]["rule"], "boxed");
  EXPECT_EQ(by_id["3"]["correct"], true);   // "3,750" against "3,750"
  EXPECT_EQ(by_id["4"]["think"], true);
  EXPECT_EQ(by_id["6"]["correct"], false);
  EXPECT_EQ(by_id["8"]["truncated"], true);
  EXPECT_EQ(by_id["8"]["extracted"], "");

  r = run("eval score " + preds() + " --out " + (dir_ / "summary").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("pass@1 6/8 = 75.0 [40.9, 92.9]"), std::string::npos) << r.output;
  const json summary = read_json(dir_ / "summary/summary.json");
  EXPECT_EQ(summary["kind"], "reasoning");
  EXPECT_EQ(summary["correct"], 6);
  EXPECT_EQ(summary["total"], 8);
  EXPECT_DOUBLE_EQ(summary["accuracy"].get<double>(), 75.0);
  EXPECT_NEAR(summary["ci95"][0].get<double>(), 40.93, 0.01);
  EXPECT_NEAR(summary["ci95"][1].get<double>(), 92.85, 0.01);
  EXPECT_EQ(summary["truncated"], 1);
  EXPECT_EQ(summary["think_unclosed"], 1);
  EXPECT_EQ(summary["think_dropped"], 1);
  EXPECT_TRUE(fs::exists(dir_ / "summary/summary.md"));
  EXPECT_TRUE(fs::exists(dir_ / "summary/summary.csv"));
}

TEST_F(EvalCli, KShotRawPromptsStopAtTheNextQuestion) {
  ReplyServer server;
  auto r = run("eval run -q --tasks " + kGsm8k.string() + " --fewshot " + kGsm8k.string() +
               " --shots 2 --template chatml --limit 1 --max-tokens 64 --server " + server.url() + " --model oracle --out " + preds());
  ASSERT_EQ(r.status, 0) << r.output;
  const json body = server.last_body();
  const std::string prompt = body["prompt"];
  EXPECT_EQ(prompt.rfind("<|im_start|>user\nQuestion: Natalia", 0), 0u) << prompt;
  EXPECT_NE(prompt.find("#### 72\n\nQuestion: Weng"), std::string::npos) << prompt;
  EXPECT_EQ(body["stop"], json::array({"Question:"}));
  EXPECT_EQ(body["max_tokens"], 64);
}

TEST_F(EvalCli, ResumesAfterAStopAndRepairsATornLine) {
  ReplyServer server;
  const std::string base = "eval run -q --tasks " + kGsm8k.string() + " --server " + server.url() + " --model oracle --out " + preds();
  ASSERT_EQ(run(base + " --limit 3").status, 0);
  EXPECT_EQ(server.requests(), 3);
  { std::ofstream(preds(), std::ios::app) << "{\"id\": \"4\", \"pred\": \"cut sho"; }  // a kill mid-write
  auto r = run(base);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(server.requests(), 8);
  const auto lines = read_lines(preds());
  ASSERT_EQ(lines.size(), 8u);
  std::set<std::string> ids;
  for (const auto& line : lines) ids.insert(line["id"]);
  EXPECT_EQ(ids.size(), 8u);
}

TEST_F(EvalCli, ServerErrorsAreRetriedOrStopTheRunWithTheReason) {
  ReplyServer server;
  auto r = run("eval run -q --tasks " + kGsm8k.string() + " --server " + server.url() +
               " --model flaky --backoff 0.01 --out " + preds());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_lines(preds()).size(), 8u);
  r = run("eval run -q --tasks " + kGsm8k.string() + " --server " + server.url() +
          " --model down --retries 1 --backoff 0.01 --out " + (dir_ / "down.jsonl").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("HTTP 500"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("engine crashed"), std::string::npos) << r.output;
  EXPECT_EQ(read_lines(dir_ / "down.jsonl").size(), 0u);
}

TEST_F(EvalCli, BadInputIsAClearErrorAndNothingRuns) {
  ReplyServer server;
  std::ofstream(dir_ / "fields.jsonl") << "{\"prompt\": \"1+1\", \"target\": \"2\"}\n";
  auto r = run("eval run -q --tasks " + (dir_ / "fields.jsonl").string() + " --format jsonl --answer-field target --server " +
               server.url() + " --model oracle --out " + preds());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("fields.jsonl:1: no \"question\" field"), std::string::npos) << r.output;
  std::ofstream(dir_ / "empty.jsonl") << "";
  r = run("eval run -q --tasks " + (dir_ / "empty.jsonl").string() + " --server " + server.url() + " --model oracle --out " + preds());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("empty.jsonl holds no problems"), std::string::npos) << r.output;
  EXPECT_EQ(server.requests(), 0);
  EXPECT_FALSE(fs::exists(preds()));
  std::ofstream(dir_ / "bad_preds.jsonl") << "{\"id\": \"1\", \"gold\": \"2\", \"pred\": \"2\"}\n{\"id\": 2, \"gold\": \"3\"}\n";
  r = run("eval score " + (dir_ / "bad_preds.jsonl").string() + " --out " + (dir_ / "s").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("bad_preds.jsonl:2"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "s/summary.json"));
}

TEST_F(EvalCli, PairedTestAgainstAnotherRunAndOneReportForBothAxes) {
  std::ofstream good(dir_ / "good.jsonl"), bad(dir_ / "bad.jsonl");
  for (int i = 0; i < 30; ++i) {
    good << json{{"id", std::to_string(i)}, {"gold", "7"}, {"pred", "The answer is 7."}}.dump() << '\n';
    bad << json{{"id", std::to_string(i)}, {"gold", "7"}, {"pred", i < 20 ? "The answer is 8." : "#### 7"}}.dump() << '\n';
  }
  good.close(), bad.close();
  auto r = run("eval score " + (dir_ / "bad.jsonl").string() + " --title sft --out " + (dir_ / "bad").string());
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("eval score " + (dir_ / "good.jsonl").string() + " --title restored --out " + (dir_ / "good").string() +
          " --compare sft=" + (dir_ / "bad").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("vs sft (33.3%): restored better (p = 1.91e-06, 20 vs 0 discordant)"), std::string::npos) << r.output;
  const json summary = read_json(dir_ / "good/summary.json");
  EXPECT_EQ(summary["paired"][0]["only_this"], 20);
  EXPECT_NEAR(summary["paired"][0]["p_value"].get<double>(), 2.0 / (1 << 20), 1e-12);

  r = run("report --run sft=" + (dir_ / "bad").string() + " --run restored=" + (dir_ / "good").string() + " --out " +
          (dir_ / "report.html").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string html = qk::test::read_bytes(dir_ / "report.html");
  EXPECT_NE(html.find("<h2>Reasoning</h2>"), std::string::npos);
  EXPECT_NE(html.find("restored better (p = 1.91e-06"), std::string::npos);
  r = run("report --run x=" + (dir_ / "nowhere").string() + " --out " + (dir_ / "r2.html").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("nowhere does not exist"), std::string::npos) << r.output;
}

TEST_F(EvalCli, EmbeddedEngineRawAndWithTheModelsChatTemplate) {
  auto r = run("eval run -q --tasks " + kGsm8k.string() + " --engine embedded --model " +
               qk::test::tiny_engine_model().string() + " --max-tokens 4 --limit 3 --out " + preds());
  ASSERT_EQ(r.status, 0) << r.output;
  auto lines = read_lines(preds());
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& line : lines) EXPECT_LE(line["completion_tokens"].get<int>(), 4);
  const fs::path chat = dir_ / "chat.jsonl";
  r = run("eval run -q --tasks " + kGsm8k.string() + " --engine embedded --api chat --model " +
          (qk::test::source_dir() / "models/base").string() + " --max-tokens 4 --limit 2 --out " + chat.string());
  ASSERT_EQ(r.status, 0) << r.output;
  lines = read_lines(chat);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["prompt"].get<std::string>().rfind("<|im_start|>user\n", 0), 0u) << lines[0]["prompt"];
}

// Issue 22: a chat model prompted with raw text answers nothing, and the run scored 0% without a word.
TEST_F(EvalCli, EmptyRepliesAndRawPromptsToAChatModelAreNamed) {
  // At the start: the model folder has a chat template, the prompts use the raw base template.
  auto r = run("eval run -q --tasks " + kGsm8k.string() + " --engine embedded --model " +
               (qk::test::source_dir() / "models/cot").string() + " --max-tokens 2 --limit 1 --out " + preds());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("has a chat template"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--api chat"), std::string::npos) << r.output;
  r = run("eval run -q --tasks " + kGsm8k.string() + " --engine embedded --api chat --model " +
          (qk::test::source_dir() / "models/cot").string() + " --max-tokens 2 --limit 1 --out " + (dir_ / "c.jsonl").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("has a chat template"), std::string::npos) << r.output;

  // At the end, and in the summary: most replies empty.
  ReplyServer server;
  const fs::path silent = dir_ / "silent.jsonl";
  r = run("eval run -q --tasks " + kGsm8k.string() + " --server " + server.url() + " --model silent --out " + silent.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("8 of 8 replies are empty"), std::string::npos) << r.output;
  r = run("eval score " + silent.string() + " --out " + (dir_ / "s").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("8 of 8 replies are empty"), std::string::npos) << r.output;
  EXPECT_NE(qk::test::read_bytes(dir_ / "s" / "summary.md").find("--template chatml"), std::string::npos);
  const json summary = read_json(dir_ / "s" / "summary.json");
  EXPECT_EQ(summary["empty_replies"], 8);
  EXPECT_EQ(summary["replies"], 8);
  // A model that answers gets no such warning.
  r = run("eval run -q --tasks " + kGsm8k.string() + " --server " + server.url() + " --model m --out " + (dir_ / "answers.jsonl").string());
  EXPECT_EQ(r.output.find("replies are empty"), std::string::npos) << r.output;
}

TEST_F(EvalCli, SampledRunsGiveMajorityAndPassAtK) {
  std::ofstream f(dir_ / "sampled.jsonl");
  // Problem a: 2 of 3 samples right (majority right); b: 1 of 3 (majority wrong); c: none.
  f << json{{"id", "a"}, {"gold", "1"}, {"pred", "1"}, {"samples", {{{"pred", "1"}}, {{"pred", "1"}}, {{"pred", "2"}}}}}.dump() << '\n'
    << json{{"id", "b"}, {"gold", "1"}, {"pred", "1"}, {"samples", {{{"pred", "1"}}, {{"pred", "3"}}, {{"pred", "3"}}}}}.dump() << '\n'
    << json{{"id", "c"}, {"gold", "1"}, {"pred", "5"}, {"samples", {{{"pred", "5"}}, {{"pred", "6"}}, {{"pred", "7"}}}}}.dump() << '\n';
  f.close();
  auto r = run("eval score " + (dir_ / "sampled.jsonl").string() + " --out " + (dir_ / "s").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const json s = read_json(dir_ / "s/summary.json");
  EXPECT_EQ(s["metric"], "maj@3");
  EXPECT_EQ(s["correct"], 1);
  EXPECT_NEAR(s["pass_at_k"]["1"].get<double>(), 100.0 * (2.0 / 3 + 1.0 / 3) / 3, 1e-9);
  EXPECT_NEAR(s["pass_at_k"]["3"].get<double>(), 100.0 * 2 / 3, 1e-9);
  r = run("eval run --tasks " + kGsm8k.string() + " --samples 4 --model m --out " + preds());
  EXPECT_EQ(r.status, 2) << r.output;  // K > 1 needs a temperature
}

}  // namespace
