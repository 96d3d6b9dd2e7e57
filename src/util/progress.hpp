// Progress on stderr for long runs, in bytes (restore, verify, diagnose) or items (NIAH samples):
// a bar, count, rate, elapsed time and ETA. Redrawn in place on a terminal at most five times a
// second; elsewhere (CI logs, pipes) a plain line at most every five seconds. Thread-safe.
// Also the cancellation point: SIGINT/SIGTERM set a flag that the next add() turns into an Error,
// so the caller's destructors remove temporaries on the way out.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace qk {

enum class ProgressUnit { Bytes, Items };

class Progress {
 public:
  // A byte count under 1 GB stays quiet off a terminal: it is over before a line would help.
  Progress(std::string label, std::uint64_t total, ProgressUnit unit, bool quiet);
  ~Progress();
  void add(std::uint64_t done_now = 1);  // throws Error(Io) "interrupted" after SIGINT/SIGTERM
  void finish();                         // the final line

 private:
  void draw(bool final);
  std::string label_;
  std::uint64_t total_, done_ = 0;
  ProgressUnit unit_;
  bool quiet_, tty_, drawn_ = false, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mutex_;
};

void install_interrupt_handlers();
bool interrupted();
void throw_if_interrupted();

std::string human_bytes(double bytes);
std::string format_duration(double seconds);  // "1:02:03" or "02:03"

}  // namespace qk
