// `serve` on loopback: the OpenAI routes, bad requests, concurrent clients, and the NIAH client end to
// end, on the random test checkpoint testdata/engine/dense_tied (with the byte-level test tokenizer made by
// tools/refgen/engine/make_test_tokenizer.py).
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/causal_lm.hpp"
#include "engine/generate.hpp"
#include "backend/openai_backend.hpp"
#include "niah/runner.hpp"
#include "niah/sample_jsonl.hpp"
#include "backend/embedded_backend.hpp"
#include "server/openai_server.hpp"
#include "support/magic_number_tasks.hpp"
#include "tokenizer/tokenizer.hpp"
#include "support/test_models.hpp"

namespace fs = std::filesystem;
using namespace qk;
using nlohmann::json;

namespace {


class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    service_ = engine_service::EngineService::open(qk::test::tiny_engine_model()).release();
    server::ServerOptions options;
    options.port = 0;
    options.model_name = "tiny";
    http_ = new server::OpenAiServer(*service_, options);
    port_ = http_->bind();
    thread_ = new std::thread([] { http_->serve(); });
  }
  static void TearDownTestSuite() {
    http_->stop();
    thread_->join();
    delete thread_;
    delete http_;
    delete service_;
  }
  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    return c;
  }
  static json post(const std::string& path, const std::string& body, int expect_status) {
    auto res = client().Post(path.c_str(), body, "application/json");
    EXPECT_TRUE(res) << path;
    if (!res) return {};
    EXPECT_EQ(res->status, expect_status) << path << " " << body << " -> " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    return json::parse(res->body);
  }
  // The greedy continuation computed directly on the engine, for comparison with what the server says.
  static std::vector<std::int32_t> direct_greedy(const std::vector<std::int32_t>& prompt, std::size_t n) {
    auto model = engine::load_causal_lm(qk::test::tiny_engine_model());
    engine::GenerationRequest r{prompt, {}};
    r.options.max_tokens = n;
    r.options.stop_tokens = service_->end_tokens();
    return engine::generate(*model, r).tokens;
  }

  static engine_service::EngineService* service_;
  static server::OpenAiServer* http_;
  static std::thread* thread_;
  static int port_;
};
engine_service::EngineService* ServerTest::service_ = nullptr;
server::OpenAiServer* ServerTest::http_ = nullptr;
std::thread* ServerTest::thread_ = nullptr;
int ServerTest::port_ = 0;

TEST_F(ServerTest, ListsTheServedModel) {
  auto res = client().Get("/v1/models");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const json body = json::parse(res->body);
  ASSERT_EQ(body["data"].size(), 1u);
  EXPECT_EQ(body["data"][0]["id"], "tiny");
}

TEST_F(ServerTest, GreedyCompletionEqualsTheEngineDirectly) {
  const std::string prompt = "The quick brown fox";
  const json reply = post("/v1/completions",
                          json{{"model", "tiny"}, {"prompt", prompt}, {"max_tokens", 24}, {"temperature", 0}}.dump(), 200);
  const auto prompt_ids = service_->tokenizer().encode(prompt, true);
  const auto expect = direct_greedy(prompt_ids, 24);
  EXPECT_EQ(reply["choices"][0]["text"], service_->tokenizer().decode(expect, true));
  EXPECT_EQ(reply["usage"]["prompt_tokens"], prompt_ids.size());
  EXPECT_EQ(reply["usage"]["completion_tokens"], expect.size());
  EXPECT_EQ(reply["object"], "text_completion");
  // The same prompt as token ids gives the same text.
  const json by_ids = post("/v1/completions", json{{"prompt", prompt_ids}, {"max_tokens", 24}, {"temperature", 0}}.dump(), 200);
  EXPECT_EQ(by_ids["choices"][0]["text"], reply["choices"][0]["text"]);
}

TEST_F(ServerTest, MaxTokensAndStopStringsEndGeneration) {
  const json full = post("/v1/completions", json{{"prompt", "abc"}, {"max_tokens", 30}, {"temperature", 0}}.dump(), 200);
  const std::string text = full["choices"][0]["text"];
  if (full["choices"][0]["finish_reason"] == "length") {
    EXPECT_EQ(full["usage"]["completion_tokens"], 30);
  }
  // Stop at an ASCII character of the greedy text (random byte-level output may hold partial UTF-8, which
  // the server answers as U+FFFD): the reply is the text before it, finish_reason "stop".
  std::size_t at = 2;
  while (at < text.size() && static_cast<unsigned char>(text[at]) >= 0x80) ++at;
  if (at >= text.size()) GTEST_SKIP() << "no ASCII character in the greedy text";
  const std::string stop(1, text[at]);
  const json cut = post("/v1/completions",
                        json{{"prompt", "abc"}, {"max_tokens", 30}, {"temperature", 0}, {"stop", {stop}}}.dump(), 200);
  EXPECT_EQ(cut["choices"][0]["text"], text.substr(0, text.find(stop)));
  EXPECT_EQ(cut["choices"][0]["finish_reason"], "stop");
}

TEST_F(ServerTest, SamplingIsReproducibleWithASeed) {
  const std::string body = json{{"prompt", "seeded"}, {"max_tokens", 16}, {"temperature", 1.0}, {"seed", 42}}.dump();
  const json a = post("/v1/completions", body, 200), b = post("/v1/completions", body, 200);
  EXPECT_EQ(a["choices"][0]["text"], b["choices"][0]["text"]);
}

TEST_F(ServerTest, ChatUsesChatMLAndCanContinueTheAssistantTurn) {
  const json reply = post("/v1/chat/completions",
                          json{{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 12}, {"temperature", 0}}.dump(),
                          200);
  EXPECT_EQ(reply["choices"][0]["message"]["role"], "assistant");
  const auto ids = service_->tokenizer().encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", true);
  EXPECT_EQ(reply["usage"]["prompt_tokens"], ids.size());
  EXPECT_EQ(reply["choices"][0]["message"]["content"], service_->tokenizer().decode(direct_greedy(ids, 12), true));

  const json cont = post("/v1/chat/completions",
                         json{{"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "The answer is"}}}},
                              {"continue_final_message", true}, {"add_generation_prompt", false}, {"max_tokens", 5},
                              {"temperature", 0}}.dump(),
                         200);
  const auto cont_ids = service_->tokenizer().encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nThe answer is", true);
  EXPECT_EQ(cont["usage"]["prompt_tokens"], cont_ids.size());
}

TEST_F(ServerTest, BadRequestsGetJsonErrorsAndTheServerKeepsServing) {
  struct Bad {
    std::string path, body;
    int status;
  };
  const std::vector<Bad> cases = {
      {"/v1/completions", "{not json", 400},
      {"/v1/completions", "[1, 2]", 400},
      {"/v1/completions", json{{"max_tokens", 4}}.dump(), 400},                          // no prompt
      {"/v1/completions", json{{"prompt", ""}}.dump(), 400},                             // empty prompt
      {"/v1/completions", json{{"prompt", "x"}, {"temperature", -1}}.dump(), 400},
      {"/v1/completions", json{{"prompt", "x"}, {"max_tokens", "ten"}}.dump(), 400},
      {"/v1/completions", json{{"prompt", "x"}, {"n", 0}}.dump(), 400},
      {"/v1/completions", json{{"prompt", "x"}, {"stream", "yes"}}.dump(), 400},
      {"/v1/completions", json{{"prompt", "x"}, {"stop", 5}}.dump(), 400},
      {"/v1/completions", json{{"prompt", {1, 2, 999999}}}.dump(), 400},                 // token outside the vocab
      {"/v1/completions", json{{"prompt", "x"}, {"max_tokens", 100000000}}.dump(), 400},  // beyond the context
      {"/v1/completions", json{{"prompt", "x"}, {"model", "other"}}.dump(), 404},
      {"/v1/chat/completions", json{{"messages", json::array()}}.dump(), 400},
      {"/v1/chat/completions", json{{"messages", {{{"content", "no role"}}}}}.dump(), 400},
      {"/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"continue_final_message", true}}.dump(), 400},
      {"/v1/nothing", "{}", 404},
  };
  for (const auto& c : cases) {
    const json reply = post(c.path, c.body, c.status);
    ASSERT_TRUE(reply.contains("error")) << c.body;
    EXPECT_FALSE(reply["error"]["message"].get<std::string>().empty()) << c.body;
  }
  post("/v1/completions", json{{"prompt", "still alive"}, {"max_tokens", 2}}.dump(), 200);
}

TEST_F(ServerTest, ConcurrentRequestsAllAnswerAsIfAlone) {
  std::vector<std::string> prompts;
  for (int i = 0; i < 6; ++i) prompts.push_back("request number " + std::to_string(i) + " asks");
  std::vector<std::string> alone;
  for (const auto& p : prompts)
    alone.push_back(post("/v1/completions", json{{"prompt", p}, {"max_tokens", 10}, {"temperature", 0}}.dump(), 200)["choices"][0]["text"]);
  std::vector<std::string> together(prompts.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < prompts.size(); ++i)
    threads.emplace_back([&, i] {
      auto res = client().Post("/v1/completions", json{{"prompt", prompts[i]}, {"max_tokens", 10}, {"temperature", 0}}.dump(),
                               "application/json");
      if (res && res->status == 200) together[i] = json::parse(res->body)["choices"][0]["text"];
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(together, alone);
}

// The data events of a server-sent-events body, parsed; "[DONE]" must be the last.
std::vector<json> sse_events(const std::string& body) {
  std::vector<json> events;
  bool done = false;
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t end = body.find("\n\n", at);
    const std::string event = body.substr(at, end - at);
    at = end == std::string::npos ? body.size() : end + 2;
    if (event.rfind("data: ", 0) != 0) continue;
    EXPECT_FALSE(done) << "data after [DONE]";
    if (event == "data: [DONE]") done = true;
    else events.push_back(json::parse(event.substr(6)));
  }
  EXPECT_TRUE(done) << body;
  return events;
}

TEST_F(ServerTest, StreamedRepliesAssembleToTheWholeReply) {
  for (const std::string path : {"/v1/completions", "/v1/chat/completions"}) {
    const bool chat = path == "/v1/chat/completions";
    json body{{"max_tokens", 40}, {"temperature", 0}, {"stop", {"xq"}}};
    if (chat) body["messages"] = {{{"role", "user"}, {"content", "stream me"}}};
    else body["prompt"] = "stream me";
    const json whole = post(path, body.dump(), 200);
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
    auto res = client().Post(path.c_str(), body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
    const auto events = sse_events(res->body);
    ASSERT_GE(events.size(), 3u);
    std::string text;
    std::string finish;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
      const json& c = events[i]["choices"][0];
      EXPECT_EQ(events[i]["object"], chat ? "chat.completion.chunk" : "text_completion");
      if (chat && i == 0) {
        EXPECT_EQ(c["delta"], json({{"role", "assistant"}, {"content", ""}}));
      }
      if (chat) text += c["delta"].value("content", "");
      else text += c["text"].get<std::string>();
      if (!c["finish_reason"].is_null()) finish = c["finish_reason"];
    }
    EXPECT_EQ(text, chat ? whole["choices"][0]["message"]["content"] : whole["choices"][0]["text"]) << path;
    EXPECT_EQ(finish, whole["choices"][0]["finish_reason"]);
    EXPECT_TRUE(events.back()["choices"].empty());
    EXPECT_EQ(events.back()["usage"], whole["usage"]);
  }
}

TEST_F(ServerTest, LogprobsAreThoseOfTheEngineAndMatchWhenStreamed) {
  const json reply = post("/v1/completions",
                          json{{"prompt", "log me"}, {"max_tokens", 8}, {"temperature", 0}, {"logprobs", 3}}.dump(), 200);
  const json& lp = reply["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), reply["usage"]["completion_tokens"].get<std::size_t>());
  // Recomputed here: the model's raw logits at each step, log-softmaxed.
  auto model = engine::load_causal_lm(qk::test::tiny_engine_model());
  auto prompt = service_->tokenizer().encode("log me", true);
  const auto generated = direct_greedy(prompt, 8);
  auto state = model->new_sequence();
  std::vector<std::int32_t> feed = prompt;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < generated.size(); ++i) {
    const engine::Segment seg{&state, feed};
    const auto logits = model->forward({&seg, 1}, engine::LogitsFor::LastToken);
    const auto expect = engine::token_logprob(logits, generated[i], 3);
    EXPECT_NEAR(lp["token_logprobs"][i].get<double>(), expect.logprob, 1e-5) << i;
    EXPECT_LE(lp["top_logprobs"][i].size(), 4u);
    double mass = 0;
    for (const auto& [token, value] : lp["top_logprobs"][i].items()) mass += std::exp(value.get<double>());
    EXPECT_LE(mass, 1.0 + 1e-5);
    EXPECT_GE(lp["text_offset"][i].get<std::size_t>(), offset);
    offset = lp["text_offset"][i];
    feed = {generated[i]};
  }
  // Chat: the same numbers in the chat shape, streamed or not.
  json chat{{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 6}, {"temperature", 0},
            {"logprobs", true}, {"top_logprobs", 2}};
  const json whole = post("/v1/chat/completions", chat.dump(), 200);
  const json& content = whole["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), whole["usage"]["completion_tokens"].get<std::size_t>());
  for (const auto& t : content) {
    EXPECT_EQ(t["top_logprobs"].size(), 2u);
    EXPECT_GE(t["top_logprobs"][0]["logprob"].get<double>() + 1e-6, t["logprob"].get<double>());  // greedy
    EXPECT_TRUE(t["bytes"].is_array());
  }
  chat["stream"] = true;
  auto res = client().Post("/v1/chat/completions", chat.dump(), "application/json");
  ASSERT_TRUE(res);
  json streamed = json::array();
  for (const auto& e : sse_events(res->body))
    if (!e["choices"].empty() && e["choices"][0]["logprobs"].is_object())
      for (const auto& t : e["choices"][0]["logprobs"]["content"]) streamed.push_back(t);
  EXPECT_EQ(streamed, content);
}

TEST_F(ServerTest, NChoicesGreedyAreEqualSampledDifferAndSeedsReproduce) {
  const json greedy = post("/v1/completions", json{{"prompt", "n"}, {"max_tokens", 8}, {"temperature", 0}, {"n", 3}}.dump(), 200);
  ASSERT_EQ(greedy["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(greedy["choices"][i]["index"], i);
    EXPECT_EQ(greedy["choices"][i]["text"], greedy["choices"][0]["text"]);
  }
  EXPECT_EQ(greedy["usage"]["completion_tokens"], 24);
  const std::string sampled = json{{"prompt", "n"}, {"max_tokens", 12}, {"temperature", 1.5}, {"n", 3}, {"seed", 7}}.dump();
  const json a = post("/v1/completions", sampled, 200), b = post("/v1/completions", sampled, 200);
  EXPECT_EQ(a["choices"], b["choices"]);
  EXPECT_NE(a["choices"][0]["text"], a["choices"][1]["text"]);  // 12 draws at T=1.5 over 256 tokens
  EXPECT_NE(a["choices"][1]["text"], a["choices"][2]["text"]);
}

// A raw client that sends a streaming request, reads a little of the answer and hangs up.
std::string read_then_hang_up(int port, const std::string& body, std::size_t bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  if (::send(fd, request.data(), request.size(), 0) < 0) return {};
  std::string got;
  char buffer[512];
  while (got.size() < bytes) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return got;
}

TEST_F(ServerTest, AClientThatHangsUpEndsItsGeneration) {
  const auto before = service_->stats();
  const std::string got = read_then_hang_up(
      port_, json{{"prompt", "a long one"}, {"max_tokens", 3000}, {"temperature", 0}, {"stream", true}}.dump(), 600);
  EXPECT_NE(got.find("data: "), std::string::npos) << got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (service_->stats().finished == before.finished && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto after = service_->stats();
  EXPECT_EQ(after.finished, before.finished + 1);
  EXPECT_EQ(after.cancelled, before.cancelled + 1);
  EXPECT_LT(after.tokens - before.tokens, 3000u);  // stopped early, not run to max_tokens
  post("/v1/completions", json{{"prompt", "still here"}, {"max_tokens", 2}}.dump(), 200);
}

TEST_F(ServerTest, RetrievesTheModelAndHealth) {
  auto res = client().Get("/v1/models/tiny");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["id"], "tiny");
  res = client().Get("/v1/models/other");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "model_not_found");
  res = client().Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, UnsupportedFieldsAreRefusedByName) {
  const json messages = {{{"role", "user"}, {"content", "x"}}};
  const std::vector<std::pair<json, std::string>> chat_cases = {
      {{{"tools", {{{"type", "function"}, {"function", {{"name", "f"}}}}}}}, "tools"},
      {{{"response_format", {{"type", "json_object"}}}}, "response_format"},
      {{{"response_format", {{"type", 5}}}}, "response_format"},  // not a string: was a 500 (found by fuzz_openai_request)
      {{{"logit_bias", {{"5", 10}}}}, "logit_bias"},
      {{{"tool_choice", "auto"}}, "tool_choice"},
      {{{"reasoning_effort", "low"}}, "reasoning_effort"},
      {{{"top_logprobs", 2}}, "top_logprobs"},  // without logprobs: true
      {{{"stream_options", {{"include_usage", true}}}}, "stream_options"},  // without stream
  };
  for (auto [fields, name] : chat_cases) {
    fields["messages"] = messages;
    const json reply = post("/v1/chat/completions", fields.dump(), 400);
    EXPECT_EQ(reply["error"]["param"], name) << fields.dump();
    EXPECT_NE(reply["error"]["message"].get<std::string>().find(name), std::string::npos) << reply.dump();
  }
  // A content part whose type is not a string: a 400 naming messages (was a 500).
  const json reply = post("/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", {{{"type", 5}}}}}}}}.dump(), 400);
  EXPECT_EQ(reply["error"]["param"], "messages") << reply.dump();
  for (auto [fields, name] : std::vector<std::pair<json, std::string>>{
           {{{"suffix", "end"}}, "suffix"}, {{{"best_of", 3}}, "best_of"}, {{{"echo", true}, {"logprobs", 1}}, "echo"},
           {{{"messages", messages}}, "messages"}, {{{"logprobs", 21}}, "logprobs"}}) {
    fields["prompt"] = "x";
    const json reply = post("/v1/completions", fields.dump(), 400);
    EXPECT_EQ(reply["error"]["param"], name) << fields.dump();
  }
  // Neutral values pass: text format, no tools, empty bias, a user id; echo repeats the prompt.
  post("/v1/chat/completions",
       json{{"messages", messages}, {"response_format", {{"type", "text"}}}, {"tools", json::array()},
            {"logit_bias", json::object()}, {"user", "u1"}, {"max_tokens", 2}}.dump(), 200);
  const json echoed = post("/v1/completions", json{{"prompt", "echo this"}, {"echo", true}, {"max_tokens", 2}}.dump(), 200);
  EXPECT_EQ(echoed["choices"][0]["text"].get<std::string>().rfind("echo this", 0), 0u);
}

// The NIAH runner with the OpenAI client against `serve`, and the embedded backend in-process: same
// predictions, written to the predictions JSONL.
TEST_F(ServerTest, NiahClientRunsEndToEndAgainstServe) {
  const fs::path dir = fs::temp_directory_path() / ("qk_server_niah_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  test::write_magic_number_tasks(dir / "tasks.jsonl", 3, "12", test::PromptStyle::ChatML, "The number is", 64);
  backend::OpenAiOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port_);
  options.model = "tiny";
  auto http_backend = backend::make_openai_backend(options);
  niah::RunOptions run;
  run.tasks_jsonl = dir / "tasks.jsonl";
  run.predictions_jsonl = dir / "served.jsonl";
  run.max_tokens = 8;
  run.jobs = 3;
  run.show_progress = false;
  const auto stats = niah::run_predictions(*http_backend, run);
  EXPECT_EQ(stats.done, 3u);

  auto embedded = backend::make_embedded_backend(qk::test::tiny_engine_model());
  run.predictions_jsonl = dir / "embedded.jsonl";
  EXPECT_EQ(niah::run_predictions(*embedded, run).done, 3u);

  auto read_lines = [](const fs::path& p) {
    std::map<std::string, std::string> by_id;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) {
      const json j = json::parse(line);
      by_id[j["id"]] = j.dump();
    }
    return by_id;
  };
  const auto served = read_lines(dir / "served.jsonl"), local = read_lines(dir / "embedded.jsonl");
  ASSERT_EQ(served.size(), 3u);
  for (const auto& [id, line] : served) {
    const json a = json::parse(line), b = json::parse(local.at(id));
    EXPECT_EQ(a["pred"], b["pred"]) << id;
  }
  fs::remove_all(dir);
}

}  // namespace
