// Chat prompts for /v1/chat/completions, `generate --chat`, `niah generate --template model` and raw
// reasoning prompts in the model's own format (`eval run --api chat --engine embedded`, `sweep`): the
// model directory's own Jinja chat template (chat_template.jinja, or tokenizer_config.json
// "chat_template", a string or a list of named templates of which "default" is used), rendered by
// src/jinja as @huggingface/jinja renders it, with what transformers' apply_chat_template passes:
// messages, tools (null when none), add_generation_prompt, bos_token/eos_token from
// tokenizer_config.json, then the caller's extra keyword arguments (vLLM's chat_template_kwargs, e.g.
// enable_thinking). A directory without a template gets ChatML.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/backend.hpp"

namespace qk::jinja {
class Template;
}

namespace qk::backend {

class ChatTemplate {
 public:
  // Error(Format) naming the file when the template does not parse or the JSON is malformed.
  static ChatTemplate from_model_dir(const std::filesystem::path& dir);
  // The built-in ChatML template (<|im_start|>role\ncontent<|im_end|>\n ...), for --chat-format chatml.
  static ChatTemplate chatml();

  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  // messages: a JSON list as OpenAI requests carry them (role; content as a string, null, or a list of
  // {"type": "text", "text"} parts, which are joined with "\n" as vLLM does; tool_calls, whose
  // "arguments" JSON strings become objects as vLLM passes them; reasoning_content, name, tool_call_id
  // ... are passed as given). tools: the request's list, or null. extra_kwargs: an object whose members
  // become template variables (they may override add_generation_prompt or the special tokens).
  // continue_final_message: render without the generation prompt and cut the text right after the
  // final (assistant) message's content, as transformers does, so the model continues that message.
  // A template that raises or fails on these messages is Error(Usage) naming the template position.
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra_kwargs = nlohmann::ordered_json::object(),
                     const nlohmann::ordered_json& tools = nullptr, bool continue_final_message = false) const;

  // Where the template came from ("models/x/chat_template.jinja", "built-in ChatML").
  const std::string& source_name() const { return source_name_; }

 private:
  ChatTemplate(std::string source, std::string source_name, nlohmann::ordered_json special_tokens);
  std::unique_ptr<jinja::Template> template_;
  std::string source_name_;
  nlohmann::ordered_json special_tokens_;  // bos_token, eos_token (null when absent)
};

// RULER's model template for `niah generate --template model`: the model's chat template rendered for
// one user turn holding "{task_template}" and continued into the assistant's turn (continue_final_message),
// so the answer prefix RULER appends opens the assistant's answer. Error(Unsupported) when the template
// does not show the user's text exactly once.
std::string ruler_model_template(const ChatTemplate& chat_template);

// Where `model_dir`'s own chat template comes from ("DIR/chat_template.jinja"), or nothing when the
// folder has none (ChatTemplate's ChatML fallback is not the model's own), its template does not
// parse, or it is not a folder (a served model's name).
std::optional<std::string> own_chat_template_source(const std::filesystem::path& model_dir);

// A question template for backends that take raw text: the chat template's rendering of [examples as
// earlier turns..., user: "{question}"] with the generation prompt, as `serve` renders a chat request.
// Error(Unsupported) when the template does not show the user's text.
std::string chat_question_template(const ChatTemplate& chat_template, const std::vector<ChatTurn>& examples);

}  // namespace qk::backend
