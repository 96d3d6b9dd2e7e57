#include "eval/eval_run.hpp"

#include <nlohmann/json.hpp>

#include "eval/answers.hpp"

namespace qk::eval {

backend::RunStats run_eval(backend::Backend& backend, const std::vector<Problem>& problems, const EvalRunOptions& options) {
  const std::size_t samples = std::max<std::size_t>(1, options.samples);
  backend::WorkSource work;
  for (const auto& p : problems) work.ids.push_back(p.id);
  work.prompts = [&](std::size_t i) {
    std::vector<backend::Prompt> prompts;
    for (std::size_t k = 0; k < samples; ++k) {
      backend::Prompt prompt = build_prompt(options.recipe, problems[i]);
      prompt.temperature = options.temperature;
      if (options.temperature > 0) prompt.seed = options.seed + static_cast<std::int64_t>(k);
      prompts.push_back(std::move(prompt));
    }
    return prompts;
  };
  work.line = [&](std::size_t i, const std::vector<backend::Completion>& completions, double seconds) {
    const Problem& problem = problems[i];
    auto judged = [&](const backend::Completion& c) {
      const Extraction e = extract_answer(c.text);
      const bool correct = !e.answer.empty() && answers_equivalent(e.answer, problem.gold);
      return nlohmann::ordered_json{{"pred", c.text},
                                    {"extracted", e.answer},
                                    {"rule", extraction_rule_name(e.rule)},
                                    {"correct", correct},
                                    {"think", e.think_dropped},
                                    {"finish_reason", c.finish_reason},
                                    {"truncated", c.finish_reason == "length"},
                                    {"completion_tokens", c.completion_tokens}};
    };
    nlohmann::ordered_json line{{"id", problem.id},
                                {"prompt", prompt_record(build_prompt(options.recipe, problem), options.recipe.question.chat)},
                                {"gold", problem.gold}};
    const auto first = judged(completions.at(0));
    for (const auto& [key, value] : first.items()) line[key] = value;
    if (completions.size() > 1) {
      auto& all = line["samples"] = nlohmann::ordered_json::array();
      for (const auto& c : completions) all.push_back(judged(c));
    }
    line["prompt_tokens"] = completions.at(0).prompt_tokens;
    line["seconds"] = seconds;
    return line;
  };
  return backend::run_resumable(backend, work, {.predictions_jsonl = options.predictions_jsonl, .label = "eval run",
                                             .jobs = options.jobs, .limit = options.limit, .show_progress = options.show_progress});
}

}  // namespace qk::eval
