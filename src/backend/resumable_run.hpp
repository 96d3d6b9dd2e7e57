// The loop both `niah run` and `eval run` share: send work items through a backend with several
// requests in flight, append one JSON line per item to a predictions JSONL as results arrive, and skip
// the items whose id the file already holds. A stop, a kill or a backend failure loses nothing already
// written; a torn last line (a write cut short) is dropped before appending.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/backend.hpp"

namespace qk::backend {

struct ResumableRunOptions {
  std::filesystem::path predictions_jsonl;
  std::string label = "run";  // progress bar and messages ("niah run", "eval run")
  int jobs = 4;               // requests in flight
  std::size_t limit = 0;      // at most this many new items (0: all)
  bool show_progress = true;
};

struct RunStats {
  std::size_t total = 0;    // items offered
  std::size_t skipped = 0;  // already in the predictions file
  std::size_t done = 0;     // predicted now
  double seconds = 0;
};

struct WorkSource {
  std::vector<std::string> ids;  // one per item, unique
  // The prompts of item i (several when an item is sampled K times); called from worker threads.
  std::function<std::vector<Prompt>(std::size_t item)> prompts;
  // The prediction line of item i from its completions, in prompt order; called under the writer lock.
  std::function<nlohmann::ordered_json(std::size_t item, const std::vector<Completion>& completions, double seconds)>
      line;
};

// Ids already in a predictions JSONL (every line's "id"); cuts a torn last line off the file.
std::vector<std::string> completed_prediction_ids(const std::filesystem::path& predictions_jsonl, const std::string& label);

// Throws the first backend error after the requests in flight have finished and been written.
RunStats run_resumable(Backend& backend, const WorkSource& work, const ResumableRunOptions& options);

}  // namespace qk::backend
