#include "backend/prompt_template.hpp"

#include <fstream>
#include <sstream>

#include "backend/chat_template.hpp"
#include "util/error.hpp"

namespace qk::backend {
namespace {

std::string read_template_file(const std::filesystem::path& path, std::string_view field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open template file {}", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  const std::size_t first = text.find(field);
  if (first == std::string::npos || text.find(field, first + 1) != std::string::npos)
    fail(ErrorKind::Format, "template file {} must contain {} exactly once", path.string(), field);
  return text;
}

}  // namespace

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  if (from.empty()) return text;
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  for (std::size_t at; (at = text.find(from, start)) != std::string::npos; start = at + from.size()) {
    out.append(text, start, at - start);
    out.append(to);
  }
  out.append(text, start);
  return out;
}

ModelTemplate builtin_model_template(std::string_view name) {
  // base and llama-3 are RULER's 'base' and 'meta-llama3'; chatml is the Qwen / ChatML user turn.
  if (name == "base") return {"base", "{task_template}"};
  if (name == "chatml") return {"chatml", "<|im_start|>user\n{task_template}<|im_end|>\n<|im_start|>assistant\n"};
  if (name == "llama-3" || name == "llama3" || name == "meta-llama3")
    return {"llama-3",
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{task_template}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"};
  fail(ErrorKind::Usage, "unknown prompt template '{}' (expected base, chatml, llama-3, or --template-file)", name);
}

ModelTemplate model_template_from_file(const std::filesystem::path& path) {
  return {"file:" + path.string(), read_template_file(path, "{task_template}")};
}

std::string fill_model_template(const ModelTemplate& model, std::string_view task) {
  return replace_all(model.text, "{task_template}", task);
}

ModelTemplate model_template(const TemplateChoice& choice) {
  if (choice.source == TemplateSource::Builtin) return builtin_model_template(choice.builtin);
  if (choice.source == TemplateSource::File) return model_template_from_file(choice.file);
  const auto chat = ChatTemplate::from_model_dir(choice.model_dir);
  return {"model:" + chat.source_name(), ruler_model_template(chat)};
}

QuestionTemplate question_template(const TemplateChoice& choice, bool backend_takes_chat,
                                   const std::vector<ChatTurn>& examples) {
  QuestionTemplate question;
  switch (choice.source) {
    case TemplateSource::Builtin:
      // The model templates wrap "{task_template}"; the same wrappers serve questions.
      question.text = fill_model_template(builtin_model_template(choice.builtin), "{question}");
      break;
    case TemplateSource::File:
      question.text = read_template_file(choice.file, "{question}");
      break;
    case TemplateSource::ModelChat:
      if (backend_takes_chat) {
        question.chat = true;
      } else {
        question.text = chat_question_template(ChatTemplate::from_model_dir(choice.model_dir), examples);
        question.holds_examples = true;
      }
      break;
  }
  return question;
}

}  // namespace qk::backend
