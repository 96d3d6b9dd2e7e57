// Runs a NIAH task JSONL through a backend and appends one prediction a line to a predictions JSONL,
// resumably (backend/resumable_run.hpp): predictions already in the file (by sample id) are skipped.
#pragma once
#include <filesystem>
#include <string>

#include "backend/backend.hpp"
#include "backend/resumable_run.hpp"

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

// Throws the first backend error after the requests in flight have finished and been written.
backend::RunStats run_predictions(backend::Backend& backend, const RunOptions& options);

}  // namespace qk::niah
