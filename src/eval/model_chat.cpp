#include "eval/model_chat.hpp"

#include "niah/prompt_template.hpp"
#include "server/chat_template.hpp"
#include "util/error.hpp"

namespace qk::eval {

std::string model_chat_question_template(const std::filesystem::path& model_dir, const std::vector<Problem>& shots) {
  // A marker no template rewrites, rendered in the question's place and then swapped for "{question}".
  const std::string marker = "\x01QKRESTORE-QUESTION\x01";
  auto messages = nlohmann::ordered_json::array();
  for (const auto& shot : shots) {
    messages.push_back({{"role", "user"}, {"content", shot.question}});
    messages.push_back({{"role", "assistant"}, {"content", shot.solution}});
  }
  messages.push_back({{"role", "user"}, {"content", marker}});
  const std::string text = server::ChatTemplate::from_model_dir(model_dir).render(messages, true);
  if (text.find(marker) == std::string::npos)
    fail(ErrorKind::Unsupported, "the chat template of {} does not show the user's message", model_dir.string());
  return niah::replace_all(text, marker, "{question}");
}

}  // namespace qk::eval
