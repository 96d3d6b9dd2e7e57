#include "niah/runner.hpp"

#include <nlohmann/json.hpp>

#include "niah/sample_jsonl.hpp"

namespace qk::niah {

RunStats run_predictions(Backend& backend, const RunOptions& options) {
  std::vector<SampleLocation> samples;
  for (auto& location : index_task_file(options.tasks_jsonl))
    if (options.only_task.empty() || location.task == options.only_task) samples.push_back(std::move(location));
  WorkSource work;
  for (const auto& location : samples) work.ids.push_back(location.id);
  work.prompts = [&](std::size_t i) {
    Sample s = read_sample_at(options.tasks_jsonl, samples[i]);
    Prompt prompt;
    prompt.input = std::move(s.input);
    prompt.answer_prefix = std::move(s.answer_prefix);
    prompt.max_tokens = options.max_tokens;
    return std::vector<Prompt>{std::move(prompt)};
  };
  work.line = [&](std::size_t i, const std::vector<Completion>& completions, double seconds) {
    const Sample s = read_sample_at(options.tasks_jsonl, samples[i]);
    const Completion& c = completions.at(0);
    return nlohmann::ordered_json{{"id", s.id},
                                  {"task", s.task},
                                  {"max_seq_length", s.max_seq_length},
                                  {"index", s.index},
                                  {"depth_percent", s.depth_percent},
                                  {"grid_depth", s.grid_depth ? nlohmann::ordered_json(*s.grid_depth) : nullptr},
                                  {"pred", c.text},
                                  {"outputs", s.outputs},
                                  {"length", s.length},
                                  {"finish_reason", c.finish_reason},
                                  {"prompt_tokens", c.prompt_tokens},
                                  {"completion_tokens", c.completion_tokens},
                                  {"seconds", seconds}};
  };
  ResumableRunOptions run;
  run.predictions_jsonl = options.predictions_jsonl;
  run.label = "niah run";
  run.jobs = options.jobs;
  run.limit = options.limit;
  run.show_progress = options.show_progress;
  return run_resumable(backend, work, run);
}

}  // namespace qk::niah
