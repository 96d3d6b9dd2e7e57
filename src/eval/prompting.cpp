#include "eval/prompting.hpp"

#include <fstream>

#include "niah/prompt_template.hpp"
#include "util/error.hpp"

namespace qk::eval {

std::string builtin_question_template(const std::string& name) {
  // NIAH's model templates (RULER's) wrap "{task_template}"; the same wrappers serve questions.
  return niah::replace_all(niah::builtin_model_template(name).text, "{task_template}", "{question}");
}

std::string question_template_from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open template file {}", path.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto first = text.find("{question}");
  if (first == std::string::npos || text.find("{question}", first + 1) != std::string::npos)
    fail(ErrorKind::Format, "template file {} must hold \"{{question}}\" exactly once", path.string());
  return text;
}

std::vector<std::string> default_stops(const PromptRecipe& recipe) {
  std::vector<std::string> stops = recipe.stop;
  if (!recipe.chat && !recipe.shots.empty()) stops.push_back("Question:");
  return stops;
}

niah::Prompt build_prompt(const PromptRecipe& recipe, const Problem& problem) {
  niah::Prompt prompt;
  prompt.max_tokens = recipe.max_tokens;
  prompt.stop = default_stops(recipe);
  if (recipe.chat) {
    for (const auto& shot : recipe.shots) {
      prompt.examples.push_back({"user", shot.question});
      prompt.examples.push_back({"assistant", shot.solution});
    }
    prompt.input = problem.question;
    return prompt;
  }
  std::string question = problem.question;
  if (!recipe.shots.empty()) {
    std::string block;
    for (const auto& shot : recipe.shots) block += "Question: " + shot.question + "\nAnswer: " + shot.solution + "\n\n";
    question = block + "Question: " + problem.question + "\nAnswer:";
  }
  prompt.input = niah::replace_all(recipe.template_text, "{question}", question);
  return prompt;
}

std::string prompt_record(const niah::Prompt& prompt, bool chat) {
  if (!chat) return prompt.input;
  std::string text;
  for (const auto& turn : prompt.examples) text += "[" + turn.role + "] " + turn.content + "\n";
  return text + "[user] " + prompt.input;
}

}  // namespace qk::eval
