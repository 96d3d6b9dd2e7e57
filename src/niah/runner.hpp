// Runs a task JSONL through a backend and appends one prediction a line to a predictions JSONL.
// Resumable: predictions already in the file (by sample id) are skipped, a torn last line is cut off,
// and every prediction is flushed as it arrives, so a stop or a failure loses nothing already done.
#pragma once
#include <filesystem>
#include <string>

#include "niah/backend.hpp"

namespace qk::niah {

struct RunOptions {
  std::filesystem::path tasks_jsonl;
  std::filesystem::path predictions_jsonl;
  int jobs = 4;                 // requests in flight
  int max_tokens = 128;         // RULER: 128 generated tokens for NIAH
  std::string only_task;        // run one task of the file (empty: all)
  std::size_t limit = 0;        // at most this many new predictions (0: all)
  bool show_progress = true;
};

struct RunStats {
  std::size_t total = 0;    // samples in the task file (after the task filter)
  std::size_t skipped = 0;  // already predicted
  std::size_t done = 0;     // predicted now
  double seconds = 0;
};

// Throws the first backend error after the requests in flight have finished and been written.
RunStats run_predictions(Backend& backend, const RunOptions& options);

}  // namespace qk::niah
