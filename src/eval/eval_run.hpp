// `eval run`: every problem through a backend (OpenAI-compatible server or the embedded engine),
// resumably (backend/resumable_run.hpp), one prediction line per problem: id, prompt, pred, extracted,
// rule, gold, correct, finish_reason, and with K samples a "samples" array (each reply judged).
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "eval/problems.hpp"
#include "eval/prompting.hpp"
#include "backend/resumable_run.hpp"

namespace qk::eval {

struct EvalRunOptions {
  std::filesystem::path predictions_jsonl;
  PromptRecipe recipe;
  std::size_t samples = 1;   // K replies per problem
  double temperature = 0;    // 0: greedy (then K > 1 only repeats the same reply)
  std::int64_t seed = 0;     // sample k of problem p is sent with seed + k, so reruns draw the same
  int jobs = 4;
  std::size_t limit = 0;
  bool show_progress = true;
};

backend::RunStats run_eval(backend::Backend& backend, const std::vector<Problem>& problems, const EvalRunOptions& options);

}  // namespace qk::eval
