// How a problem becomes what the model sees, given the question template the backend wing chose
// (backend/prompt_template.hpp). Raw text: the template around the question, k-shot examples written
// as lm-evaluation-harness writes them ("Question: ...\nAnswer: ...\n\n") unless the template renders
// them already as chat turns. Chat: k-shot examples go as earlier user/assistant turns
// (lm-evaluation-harness's --fewshot_as_multiturn) and the server applies the model's chat template.
#pragma once
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/prompt_template.hpp"
#include "eval/problems.hpp"

namespace qk::eval {

struct PromptRecipe {
  backend::QuestionTemplate question;  // chat, or the raw text around "{question}"
  std::vector<Problem> shots;          // k-shot examples, in order
  int max_tokens = 512;
  std::vector<std::string> stop;       // added to the default stops (see default_stops)
};

// The k-shot examples as the user/assistant turns of a chat.
std::vector<backend::ChatTurn> shot_turns(const std::vector<Problem>& shots);

// With k-shot examples written as "Question: ... Answer: ..." the model would go on to write the next
// "Question:": stop there.
std::vector<std::string> default_stops(const PromptRecipe& recipe);

backend::Prompt build_prompt(const PromptRecipe& recipe, const Problem& problem);

// What the predictions file records as the prompt: the raw text, or the chat turns joined for reading.
std::string prompt_record(const backend::Prompt& prompt, bool chat);

}  // namespace qk::eval
