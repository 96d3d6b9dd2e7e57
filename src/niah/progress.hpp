// A progress bar with rate and ETA on stderr. Redraws in place on a terminal; elsewhere (CI logs,
// pipes) prints a plain line at most every few seconds. Thread-safe.
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace qk::niah {

class Progress {
 public:
  Progress(std::string label, std::size_t total, bool enabled = true);
  ~Progress();
  void advance(std::size_t done_now = 1);
  void finish();

 private:
  void draw(bool final);
  std::string label_;
  std::size_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mutex_;
};

std::string format_duration(double seconds);  // "1:02:03" or "02:03"

}  // namespace qk::niah
