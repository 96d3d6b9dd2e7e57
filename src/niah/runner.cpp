#include "niah/runner.hpp"

#include <memory>

#include <nlohmann/json.hpp>

#include "niah/sample_jsonl.hpp"

namespace qk::niah {

backend::RunStats run_predictions(backend::Backend& backend, const RunOptions& options) {
  std::vector<SampleLocation> samples;
  for (auto& location : index_task_file(options.tasks_jsonl))
    if (options.only_task.empty() || location.task == options.only_task) samples.push_back(std::move(location));
  backend::WorkSource work;
  for (const auto& location : samples) work.ids.push_back(location.id);
  // Each line is parsed once, for its prompt; the rest of the sample waits here for its prediction line.
  std::vector<std::unique_ptr<Sample>> read(samples.size());
  work.prompts = [&](std::size_t i) {
    read[i] = std::make_unique<Sample>(read_sample_at(options.tasks_jsonl, samples[i]));
    backend::Prompt prompt;
    prompt.input = std::move(read[i]->input);
    prompt.answer_prefix = std::move(read[i]->answer_prefix);
    prompt.max_tokens = options.max_tokens;
    return std::vector<backend::Prompt>{std::move(prompt)};
  };
  work.line = [&](std::size_t i, const std::vector<backend::Completion>& completions, double seconds) {
    const std::unique_ptr<Sample> s = std::move(read[i]);
    const backend::Completion& c = completions.at(0);
    return nlohmann::ordered_json{{"id", s->id},
                                  {"task", s->task},
                                  {"max_seq_length", s->max_seq_length},
                                  {"index", s->index},
                                  {"depth_percent", s->depth_percent},
                                  {"grid_depth", s->grid_depth ? nlohmann::ordered_json(*s->grid_depth) : nullptr},
                                  {"pred", c.text},
                                  {"outputs", s->outputs},
                                  {"length", s->length},
                                  {"finish_reason", c.finish_reason},
                                  {"prompt_tokens", c.prompt_tokens},
                                  {"completion_tokens", c.completion_tokens},
                                  {"seconds", seconds}};
  };
  return backend::run_resumable(backend, work, {.predictions_jsonl = options.predictions_jsonl, .label = "niah run", .jobs = options.jobs,
                                       .limit = options.limit, .show_progress = options.show_progress});
}

}  // namespace qk::niah
