#include "niah/progress.hpp"

#include <cstdio>
#include <unistd.h>

#include <fmt/format.h>

namespace qk::niah {

std::string format_duration(double seconds) {
  auto total = static_cast<long long>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{:02}:{:02}", total / 60, total % 60);
}

Progress::Progress(std::string label, std::size_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(std::size_t done_now) {
  std::lock_guard lock(mutex_);
  done_ += done_now;
  auto now = std::chrono::steady_clock::now();
  auto since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.2 : 5.0) && done_ < total_) {  // the final line is finish()'s
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final) {
  if (!enabled_ || total_ == 0) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done_, total_)) / rate : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * static_cast<double>(done_) / static_cast<double>(total_));
  std::string bar = std::string(static_cast<std::size_t>(std::min(filled, kWidth)), '#') +
                    std::string(static_cast<std::size_t>(kWidth - std::min(filled, kWidth)), '.');
  std::string text = fmt::format("{} [{}] {}/{} {:.1f}/s elapsed {} ETA {}", label_, bar, done_, total_, rate,
                                 format_duration(elapsed), final ? "done" : format_duration(eta));
  if (tty_) {
    fmt::print(stderr, "\r{}\x1b[K{}", text, final ? "\n" : "");
  } else {
    fmt::print(stderr, "{}\n", text);
  }
  std::fflush(stderr);
}

}  // namespace qk::niah
