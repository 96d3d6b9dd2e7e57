#include "server/chat_template.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace qk::server {

std::string render_chat(ChatFormat, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        bool continue_final_message) {
  if (continue_final_message && (messages.empty() || messages.back().role != "assistant"))
    fail(ErrorKind::Usage, "continue_final_message needs a final assistant message");
  std::string text;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    text += "<|im_start|>" + messages[i].role + "\n" + messages[i].content;
    if (continue_final_message && i + 1 == messages.size()) return text;
    text += "<|im_end|>\n";
  }
  if (add_generation_prompt) text += "<|im_start|>assistant\n";
  return text;
}

ChatFormat detect_chat_format(const std::filesystem::path& dir) {
  std::string template_text, source;
  if (std::ifstream in(dir / "chat_template.jinja"); in) {
    std::stringstream s;
    s << in.rdbuf();
    template_text = s.str();
    source = (dir / "chat_template.jinja").string();
  } else if (std::ifstream cfg(dir / "tokenizer_config.json"); cfg) {
    try {
      const auto j = nlohmann::json::parse(cfg);
      if (j.contains("chat_template") && j["chat_template"].is_string()) template_text = j["chat_template"];
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::Format, "{}: {}", (dir / "tokenizer_config.json").string(), e.what());
    }
    source = (dir / "tokenizer_config.json").string();
  }
  if (template_text.empty()) return ChatFormat::ChatML;  // no template: ChatML, Qwen's format
  if (template_text.find("<|im_start|>") != std::string::npos && template_text.find("<|im_end|>") != std::string::npos)
    return ChatFormat::ChatML;
  fail(ErrorKind::Unsupported, "{}: the chat template is not ChatML; serve with --chat-format chatml to force it",
       source);
}

}  // namespace qk::server
