// One chat request end to end through `serve`, with Qwen3's real template and chat_template_kwargs.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "backend/chat_template.hpp"
#include "server/openai_server.hpp"
#include "support/temp_dir.hpp"
#include "support/test_models.hpp"

using namespace qk;
using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

ojson user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

TEST(ChatTemplate, ServeRendersTheModelsTemplateWithChatTemplateKwargs) {
  auto service = engine_service::EngineService::open(test::tiny_engine_model());
  test::TempDir dir;
  std::ofstream(dir / "chat_template.jinja", std::ios::binary)
      << test::read_bytes(fs::path(QK_SOURCE_DIR) / "testdata/jinja/templates/qwen3.jinja");
  server::ServerOptions options;
  options.port = 0;
  options.model_name = "tiny";
  options.chat_template = std::make_shared<const backend::ChatTemplate>(backend::ChatTemplate::from_model_dir(dir.path()));
  server::OpenAiServer http(*service, options);
  const int port = http.bind();
  std::thread thread([&] { http.serve(); });
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120, 0);
  const ojson body{{"model", "tiny"},
                   {"messages", ojson::array({user("hi")})},
                   {"max_tokens", 1},
                   {"chat_template_kwargs", {{"enable_thinking", false}}}};
  auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
  ojson bad_body = body;
  bad_body["messages"] = ojson::array({{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", "oops"}}});
  auto bad = client.Post("/v1/chat/completions", bad_body.dump(), "application/json");
  http.stop();
  thread.join();
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  // Qwen3 with enable_thinking=false opens the answer with an empty think block.
  const std::string expected = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
  EXPECT_EQ(ojson::parse(res->body)["usage"]["prompt_tokens"], service->tokenizer().encode(expected, true).size());
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
}

}  // namespace
