#include "niah/runner.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "niah/progress.hpp"
#include "niah/sample_jsonl.hpp"
#include "util/error.hpp"

namespace qk::niah {

// Ids already predicted. A last line without its newline is a write cut short: drop it so the next
// append starts on a fresh line.
static std::set<std::string> completed_ids(const std::filesystem::path& path) {
  std::set<std::string> ids;
  if (!std::filesystem::exists(path)) return ids;
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t complete = content.rfind('\n') == std::string::npos ? 0 : content.rfind('\n') + 1;
  if (complete < content.size()) {
    std::filesystem::resize_file(path, complete);
    fmt::print(stderr, "niah run: dropped an unfinished last line of {}\n", path.string());
  }
  std::size_t start = 0, number = 1;
  while (start < complete) {
    const std::size_t end = content.find('\n', start);
    std::string_view line(content.data() + start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      try {
        ids.insert(nlohmann::json::parse(line).at("id").get<std::string>());
      } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::Format, "{}:{}: not a prediction line ({})", path.string(), number, e.what());
      }
    }
    start = end + 1;
    ++number;
  }
  return ids;
}

RunStats run_predictions(Backend& backend, const RunOptions& options) {
  const auto start_time = std::chrono::steady_clock::now();
  std::vector<SampleLocation> todo;
  RunStats stats;
  const auto done_ids = completed_ids(options.predictions_jsonl);
  for (auto& location : index_task_file(options.tasks_jsonl)) {
    if (!options.only_task.empty() && location.task != options.only_task) continue;
    ++stats.total;
    if (done_ids.count(location.id)) {
      ++stats.skipped;
    } else if (options.limit == 0 || todo.size() < options.limit) {
      todo.push_back(std::move(location));
    }
  }
  if (options.predictions_jsonl.has_parent_path())
    std::filesystem::create_directories(options.predictions_jsonl.parent_path());
  std::ofstream out(options.predictions_jsonl, std::ios::binary | std::ios::app);
  if (!out) fail(ErrorKind::Io, "cannot append to {}", options.predictions_jsonl.string());

  Progress progress("niah run", todo.size(), options.show_progress);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex write_mutex;
  std::exception_ptr error;
  const std::size_t batch = static_cast<std::size_t>(std::max(1, backend.preferred_batch()));

  auto worker = [&] {
    while (!stop) {
      const std::size_t first = next.fetch_add(batch);
      if (first >= todo.size()) return;
      const std::size_t last = std::min(todo.size(), first + batch);
      try {
        std::vector<Sample> samples;
        std::vector<Prompt> prompts;
        for (std::size_t i = first; i < last; ++i) {
          samples.push_back(read_sample_at(options.tasks_jsonl, todo[i]));
          prompts.push_back({samples.back().input, samples.back().answer_prefix, options.max_tokens});
        }
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<Completion> completions = backend.generate(prompts);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (completions.size() != prompts.size())
          fail(ErrorKind::Network, "{} returned {} completions for {} prompts", backend.describe(), completions.size(),
               prompts.size());
        std::lock_guard lock(write_mutex);
        for (std::size_t i = 0; i < samples.size(); ++i) {
          const Sample& s = samples[i];
          nlohmann::ordered_json line{{"id", s.id},
                                      {"task", s.task},
                                      {"max_seq_length", s.max_seq_length},
                                      {"index", s.index},
                                      {"depth_percent", s.depth_percent},
                                      {"grid_depth", s.grid_depth ? nlohmann::ordered_json(*s.grid_depth) : nullptr},
                                      {"pred", completions[i].text},
                                      {"outputs", s.outputs},
                                      {"length", s.length},
                                      {"finish_reason", completions[i].finish_reason},
                                      {"prompt_tokens", completions[i].prompt_tokens},
                                      {"completion_tokens", completions[i].completion_tokens},
                                      {"seconds", seconds}};
          out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        }
        out.flush();
        if (!out) fail(ErrorKind::Io, "writing {} failed", options.predictions_jsonl.string());
        stats.done += samples.size();
        progress.advance(samples.size());
      } catch (...) {
        std::lock_guard lock(write_mutex);
        if (!error) error = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, options.jobs); ++t) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  progress.finish();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  if (error) std::rethrow_exception(error);
  return stats;
}

}  // namespace qk::niah
