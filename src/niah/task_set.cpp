#include "niah/task_set.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "util/progress.hpp"
#include "niah/sample_jsonl.hpp"
#include "util/error.hpp"
#include "util/thread_pool.hpp"
#include "util/files.hpp"

namespace qk::niah {

std::vector<double> grid_depth_values(int count) {
  if (count < 2) fail(ErrorKind::Usage, "--grid-depths needs at least 2 depths, got {}", count);
  std::vector<double> depths;
  for (int i = 0; i < count; ++i) depths.push_back(std::round(100.0 * i / (count - 1)));
  depths.erase(std::unique(depths.begin(), depths.end()), depths.end());
  return depths;
}

std::vector<SampleRequest> plan_requests(const TaskSetPlan& plan) {
  if (plan.samples < 1) fail(ErrorKind::Usage, "--samples must be at least 1");
  std::vector<SampleRequest> requests;
  for (const auto& task : plan.tasks)
    for (int length : plan.lengths) {
      if (plan.grid_depths == 0) {
        for (int i = 0; i < plan.samples; ++i) requests.push_back({&task, length, i, std::nullopt});
      } else {
        for (double depth : grid_depth_values(plan.grid_depths))
          for (int i = 0; i < plan.samples; ++i) requests.push_back({&task, length, i, depth});
      }
    }
  return requests;
}

TaskSetStats write_task_set(const SampleGenerator& generator, const std::vector<SampleRequest>& requests,
                            const std::filesystem::path& out, int jobs, bool show_progress) {
  const auto start = std::chrono::steady_clock::now();
  if (out.has_parent_path()) make_directories(out.parent_path());
  const std::filesystem::path temporary = out.string() + ".tmp";
  std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
  if (!file) fail(ErrorKind::Io, "cannot write {}", temporary.string());

  TaskSetStats stats;
  Progress progress("generate", requests.size(), ProgressUnit::Items, !show_progress);
  // Chunks keep memory bounded: each sample is built by one of the pool's threads (util/thread_pool),
  // lines are written in plan order.
  const std::size_t threads = jobs == 1 ? 1 : worker_threads();
  const std::size_t chunk = threads * 4;
  std::vector<std::string> lines;
  for (std::size_t begin = 0; begin < requests.size(); begin += chunk) {
    const std::size_t end = std::min(requests.size(), begin + chunk);
    lines.assign(end - begin, {});
    std::vector<int> lengths(end - begin, 0);
    auto build = [&](std::size_t k) {
      Sample sample = generator.generate(requests[begin + k]);
      lengths[k] = sample.length;
      lines[k] = sample_to_json(sample).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      progress.add();
    };
    try {
      if (threads == 1) {
        for (std::size_t k = 0; k < end - begin; ++k) build(k);
      } else {
        parallel_for(end - begin, build);
      }
    } catch (...) {
      file.close();
      remove_file(temporary);
      throw;
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
      file << lines[i] << '\n';
      stats.min_length = stats.samples == 0 ? lengths[i] : std::min(stats.min_length, lengths[i]);
      stats.max_length = std::max(stats.max_length, lengths[i]);
      ++stats.samples;
    }
  }
  progress.finish();
  file.close();
  if (!file) fail(ErrorKind::Io, "writing {} failed", temporary.string());
  rename_path(temporary, out);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace qk::niah
