// How a problem becomes what the model sees. Raw completions (a server's /v1/completions or the
// embedded engine): a template holding "{question}" (built-in base | chatml | llama-3, or a file), k-shot
// examples written as lm-evaluation-harness writes them ("Question: ...\nAnswer: ...\n\n") inside it.
// Chat (--api chat): the server applies the model's chat template; k-shot examples go as earlier
// user/assistant turns (lm-evaluation-harness's --fewshot_as_multiturn).
#pragma once
#include <string>
#include <vector>

#include "eval/problems.hpp"
#include "niah/backend.hpp"

namespace qk::eval {

struct PromptRecipe {
  bool chat = false;                        // messages to a chat endpoint; else one raw text
  std::string template_text = "{question}";  // raw mode: the model template, "{question}" once
  std::vector<Problem> shots;               // k-shot examples, in order
  int max_tokens = 512;
  std::vector<std::string> stop;            // added to the default stops (see default_stops)
};

// "base" -> "{question}"; "chatml" / "llama-3": the question as the user turn, the assistant turn open.
std::string builtin_question_template(const std::string& name);
std::string question_template_from_file(const std::filesystem::path& path);  // must hold "{question}" once

// With k-shot examples in a raw prompt the model would go on to write the next "Question:": stop there.
std::vector<std::string> default_stops(const PromptRecipe& recipe);

niah::Prompt build_prompt(const PromptRecipe& recipe, const Problem& problem);

// What the predictions file records as the prompt: the raw text, or the chat turns joined for reading.
std::string prompt_record(const niah::Prompt& prompt, bool chat);

}  // namespace qk::eval
