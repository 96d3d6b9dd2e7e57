// Chat prompts for /v1/chat/completions. Jinja is not embedded: the model directory's template
// (chat_template.jinja or tokenizer_config.json "chat_template") is recognised as ChatML when it uses
// <|im_start|>/<|im_end|> (Qwen, and the shipped models), and any model can be served with ChatML forced.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace qk::server {

struct ChatMessage {
  std::string role;
  std::string content;
};

enum class ChatFormat { ChatML };

// <|im_start|>{role}\n{content}<|im_end|>\n per message, then "<|im_start|>assistant\n" when
// add_generation_prompt. continue_final_message leaves the last (assistant) message open so the model
// continues it (vLLM's option); it excludes add_generation_prompt.
std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        bool continue_final_message);

// The format a model directory asks for; Error(Unsupported) naming the file when its template is not one
// the server renders.
ChatFormat detect_chat_format(const std::filesystem::path& model_dir);

}  // namespace qk::server
