#include "backend/resumable_run.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"

namespace qk::backend {

std::vector<std::string> completed_prediction_ids(const std::filesystem::path& path, const std::string& label) {
  std::vector<std::string> ids;
  if (!path_exists(path)) return ids;
  const std::string content = read_text_file(path);
  const std::size_t complete = content.rfind('\n') == std::string::npos ? 0 : content.rfind('\n') + 1;
  if (complete < content.size()) {
    truncate_file(path, complete);
    fmt::print(stderr, "{}: dropped an unfinished last line of {}\n", label, path.string());
  }
  std::size_t start = 0, number = 1;
  while (start < complete) {
    const std::size_t end = content.find('\n', start);
    std::string_view line(content.data() + start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      const std::string where = fmt::format("{}:{}", path.string(), number);
      ids.push_back(string_field(parse_json(line, where), "id", where));
    }
    start = end + 1;
    ++number;
  }
  return ids;
}

RunStats run_resumable(Backend& backend, const WorkSource& work, const ResumableRunOptions& options) {
  const auto start_time = std::chrono::steady_clock::now();
  RunStats stats;
  const auto done_list = completed_prediction_ids(options.predictions_jsonl, options.label);
  const std::unordered_set<std::string> done_ids(done_list.begin(), done_list.end());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < work.ids.size(); ++i) {
    ++stats.total;
    if (done_ids.count(work.ids[i])) ++stats.skipped;
    else if (options.limit == 0 || todo.size() < options.limit) todo.push_back(i);
  }
  if (options.predictions_jsonl.has_parent_path()) make_directories(options.predictions_jsonl.parent_path());
  std::ofstream out(options.predictions_jsonl, std::ios::binary | std::ios::app);
  if (!out) fail(ErrorKind::Io, "cannot append to {}", options.predictions_jsonl.string());

  Progress progress(options.label, todo.size(), ProgressUnit::Items, !options.show_progress);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex write_mutex;
  std::exception_ptr first_error;
  // Items per backend call: as many as fill the backend's preferred batch of prompts.
  const std::size_t batch = static_cast<std::size_t>(std::max(1, backend.preferred_batch()));

  auto worker = [&] {
    while (!stop) {
      const std::size_t first = next.fetch_add(1);
      if (first >= todo.size()) return;
      try {
        std::vector<std::size_t> items{todo[first]};
        std::vector<Prompt> prompts = work.prompts(todo[first]);
        std::vector<std::size_t> prompt_counts{prompts.size()};
        while (prompts.size() < batch) {
          const std::size_t more = next.fetch_add(1);
          if (more >= todo.size()) break;
          auto extra = work.prompts(todo[more]);
          items.push_back(todo[more]);
          prompt_counts.push_back(extra.size());
          for (auto& p : extra) prompts.push_back(std::move(p));
        }
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<Completion> completions = backend.generate(prompts);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (completions.size() != prompts.size())
          fail(ErrorKind::Network, "{} returned {} completions for {} prompts", backend.describe(), completions.size(),
               prompts.size());
        std::lock_guard lock(write_mutex);
        std::size_t offset = 0;
        for (std::size_t k = 0; k < items.size(); ++k) {
          std::vector<Completion> own(completions.begin() + static_cast<std::ptrdiff_t>(offset),
                                      completions.begin() + static_cast<std::ptrdiff_t>(offset + prompt_counts[k]));
          offset += prompt_counts[k];
          out << work.line(items[k], own, seconds).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << '\n';
        }
        out.flush();
        if (!out) fail(ErrorKind::Io, "writing {} failed", options.predictions_jsonl.string());
        stats.done += items.size();
        progress.add(items.size());
      } catch (...) {
        std::lock_guard lock(write_mutex);
        if (!first_error) first_error = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, options.jobs); ++t) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  progress.finish();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  if (first_error) std::rethrow_exception(first_error);
  return stats;
}

}  // namespace qk::backend
