#include "eval/prompting.hpp"

namespace qk::eval {
namespace {

bool writes_question_answer_shots(const PromptRecipe& recipe) {
  return !recipe.question.chat && !recipe.question.holds_examples && !recipe.shots.empty();
}

}  // namespace

std::vector<backend::ChatTurn> shot_turns(const std::vector<Problem>& shots) {
  std::vector<backend::ChatTurn> turns;
  for (const auto& shot : shots) {
    turns.push_back({"user", shot.question});
    turns.push_back({"assistant", shot.solution});
  }
  return turns;
}

std::vector<std::string> default_stops(const PromptRecipe& recipe) {
  std::vector<std::string> stops = recipe.stop;
  if (writes_question_answer_shots(recipe)) stops.push_back("Question:");
  return stops;
}

backend::Prompt build_prompt(const PromptRecipe& recipe, const Problem& problem) {
  backend::Prompt prompt;
  prompt.max_tokens = recipe.max_tokens;
  prompt.stop = default_stops(recipe);
  if (recipe.question.chat) {
    prompt.examples = shot_turns(recipe.shots);
    prompt.input = problem.question;
    return prompt;
  }
  std::string question = problem.question;
  if (writes_question_answer_shots(recipe)) {
    std::string block;
    for (const auto& shot : recipe.shots) block += "Question: " + shot.question + "\nAnswer: " + shot.solution + "\n\n";
    question = block + "Question: " + problem.question + "\nAnswer:";
  }
  prompt.input = backend::replace_all(recipe.question.text, "{question}", question);
  return prompt;
}

std::string prompt_record(const backend::Prompt& prompt, bool chat) {
  if (!chat) return prompt.input;
  std::string text;
  for (const auto& turn : prompt.examples) text += "[" + turn.role + "] " + turn.content + "\n";
  return text + "[user] " + prompt.input;
}

}  // namespace qk::eval
