// Progress on stderr for long runs: bytes done, rate, ETA; redrawn at most a few times a second.
// Also the cancellation point: SIGINT/SIGTERM set a flag that the next update turns into an
// Error, so the caller's destructors remove temporaries on the way out.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace qk {

class Progress {
 public:
  Progress(std::string label, std::uint64_t total_bytes, bool quiet);
  ~Progress();
  void add(std::uint64_t bytes);  // throws Error(Io) "interrupted" after SIGINT/SIGTERM
  void finish();

 private:
  void draw(bool final);
  std::string label_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  bool quiet_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

void install_interrupt_handlers();
bool interrupted();
void throw_if_interrupted();

std::string human_bytes(double bytes);

}  // namespace qk
