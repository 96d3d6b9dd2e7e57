// The model's own chat template: where it is found (chat_template.jinja, tokenizer_config.json string or
// named list), the special tokens, how OpenAI messages reach it (text parts, tool-call arguments),
// continue_final_message's cut, errors, and the prompt templates cut from it (NIAH's, questions').
// The chat request end to end through `serve` is in tests/server/chat_request_test.cpp.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "backend/chat_template.hpp"
#include "support/temp_dir.hpp"
#include "support/test_models.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

using namespace qk;
using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

std::string real_template(const std::string& name) {
  return test::read_bytes(fs::path(QK_SOURCE_DIR) / "testdata/jinja/templates" / (name + ".jinja"));
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

ojson user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

TEST(ChatTemplate, FoundInTheModelDirectory) {
  test::TempDir dir;
  // No template at all: ChatML.
  EXPECT_EQ(backend::ChatTemplate::from_model_dir(dir.path()).render(ojson::array({user("hi")}), true),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  // tokenizer_config.json: a list of named templates, "default" used; tokens may be AddedToken objects.
  write(dir / "tokenizer_config.json", ojson{{"bos_token", {{"content", "<B>"}, {"lstrip", false}}},
                                             {"eos_token", "<E>"},
                                             {"chat_template", {{{"name", "tool_use"}, {"template", "T"}},
                                                                {{"name", "default"}, {"template", "{{ bos_token }}D{{ eos_token }}"}}}}}
                                           .dump());
  EXPECT_EQ(backend::ChatTemplate::from_model_dir(dir.path()).render(ojson::array({user("hi")}), true), "<B>D<E>");
  // A string in tokenizer_config.json.
  write(dir / "tokenizer_config.json", ojson{{"eos_token", "<E>"}, {"chat_template", "S{{ messages|length }}"}}.dump());
  EXPECT_EQ(backend::ChatTemplate::from_model_dir(dir.path()).render(ojson::array({user("hi")}), true), "S1");
  // chat_template.jinja wins over tokenizer_config.json.
  write(dir / "chat_template.jinja", "F{{ eos_token }}\n");
  const auto t = backend::ChatTemplate::from_model_dir(dir.path());
  EXPECT_EQ(t.render(ojson::array({user("hi")}), true), "F<E>");
  EXPECT_EQ(t.source_name(), (dir / "chat_template.jinja").string());
}

TEST(ChatTemplate, BrokenTemplatesAreFormatErrorsNamingTheFile) {
  test::TempDir dir;
  auto expect_format_error = [&](const std::string& expected, const std::string& what) {
    try {
      backend::ChatTemplate::from_model_dir(dir.path());
      FAIL() << what << " loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  write(dir / "chat_template.jinja", "{% for m in messages %}never closed");
  expect_format_error("chat_template.jinja", "a template without endfor");
  fs::remove(dir / "chat_template.jinja");
  write(dir / "tokenizer_config.json", R"({"chat_template": [{"name": "rag", "template": "x"}]})");
  expect_format_error("tokenizer_config.json chat_template: the list of chat templates has no \"default\" entry",
                      "a list without a default");
  // A name that is not a string is no "default" (it was a JSON type_error: "internal error").
  write(dir / "tokenizer_config.json", R"({"chat_template": [{"name": 5, "template": "x"}]})");
  expect_format_error("no \"default\" entry", "a template named 5");
}

TEST(ChatTemplate, OpenAiMessagesAreNormalisedAsVllmPassesThem) {
  test::TempDir dir;
  write(dir / "chat_template.jinja", real_template("llama3_1_tools"));
  write(dir / "tokenizer_config.json", R"({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})");
  const auto t = backend::ChatTemplate::from_model_dir(dir.path());
  const ojson messages = ojson::parse(R"([
    {"role": "user", "content": [{"type": "text", "text": "Weather"}, {"type": "text", "text": "in Paris?"}]},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "c", "content": "21 C"}])");
  const std::string text = t.render(messages, true, ojson{{"date_string", "01 Jan 2025"}});
  // Text parts joined with "\n"; the arguments string became an object, which the template dumps.
  EXPECT_NE(text.find("Weather\nin Paris?"), std::string::npos) << text;
  EXPECT_NE(text.find(R"({"name": "get_weather", "parameters": {"city": "Paris"}})"), std::string::npos) << text;
  EXPECT_NE(text.find("Today Date: 01 Jan 2025"), std::string::npos) << text;
  // Bad tool-call arguments are the request's fault.
  ojson bad = messages;
  bad[1]["tool_calls"][0]["function"]["arguments"] = "{not json";
  try {
    t.render(bad, true);
    FAIL() << "invalid tool-call arguments rendered";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

TEST(ChatTemplate, RaiseExceptionIsTheRequestsFault) {
  test::TempDir dir;
  write(dir / "chat_template.jinja", real_template("mistral7b"));
  const auto t = backend::ChatTemplate::from_model_dir(dir.path());
  try {
    t.render(ojson::array({{{"role", "system"}, {"content", "s"}}, user("hi")}), true);
    FAIL() << "Mistral's template accepted a system message";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("Conversation roles must alternate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chat_template.jinja:1:"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, ContinueFinalMessageCutsAfterItsContentAsTransformersDoes) {
  test::TempDir dir;
  write(dir / "chat_template.jinja", real_template("qwen3"));
  const auto qwen3 = backend::ChatTemplate::from_model_dir(dir.path());
  const ojson conversation = ojson::array({user("2+2?"), {{"role", "assistant"}, {"content", "The answer is"}}});
  // Qwen3 gives the final assistant turn an empty think block; the text stops right after the message.
  EXPECT_EQ(qwen3.render(conversation, false, ojson::object(), nullptr, true),
            "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nThe answer is");
  EXPECT_THROW(qwen3.render(conversation, true, ojson::object(), nullptr, true), Error);
  // Trailing spaces the template keeps stay; where it trims them (Llama 3's | trim), the cut follows.
  const ojson padded = ojson::array({user("2+2?"), {{"role", "assistant"}, {"content", "The answer is  "}}});
  EXPECT_EQ(qwen3.render(padded, false, ojson::object(), nullptr, true),
            "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nThe answer is  ");
  write(dir / "chat_template.jinja", real_template("llama3"));
  write(dir / "tokenizer_config.json", R"({"bos_token": "<|begin_of_text|>"})");
  const auto llama3 = backend::ChatTemplate::from_model_dir(dir.path());
  EXPECT_EQ(llama3.render(padded, false, ojson::object(), nullptr, true),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            "The answer is");
}

TEST(ChatTemplate, RulerModelTemplateIsOneUserTurnContinuedIntoTheAnswer) {
  test::TempDir dir;
  EXPECT_EQ(backend::ruler_model_template(backend::ChatTemplate::from_model_dir(dir.path())),
            "<|im_start|>user\n{task_template}<|im_end|>\n<|im_start|>assistant\n");  // = niah's built-in chatml
  write(dir / "chat_template.jinja", real_template("qwen3"));
  EXPECT_EQ(backend::ruler_model_template(backend::ChatTemplate::from_model_dir(dir.path())),
            "<|im_start|>user\n{task_template}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  write(dir / "chat_template.jinja", "{{ messages[0].content }}");  // no assistant turn to continue
  EXPECT_THROW(backend::ruler_model_template(backend::ChatTemplate::from_model_dir(dir.path())), Error);
}

}  // namespace
