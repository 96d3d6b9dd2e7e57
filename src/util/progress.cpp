#include "util/progress.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <unistd.h>

#include <fmt/format.h>

#include "util/error.hpp"

namespace qk {
namespace {

std::atomic<int> g_signal{0};

extern "C" void on_signal(int signal) { g_signal.store(signal); }

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
}

bool interrupted() { return g_signal.load() != 0; }

void throw_if_interrupted() {
  if (int s = g_signal.load()) fail(ErrorKind::Io, "interrupted by signal {}; nothing was written to the destination", s);
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 4) {
    bytes /= 1000;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} {}", bytes, units[unit]) : fmt::format("{:.1f} {}", bytes, units[unit]);
}

std::string format_duration(double seconds) {
  auto total = static_cast<long long>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{:02}:{:02}", total / 60, total % 60);
}

Progress::Progress(std::string label, std::uint64_t total, ProgressUnit unit, bool quiet)
    : label_(std::move(label)), total_(total), unit_(unit), tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {
  quiet_ = quiet || total == 0 || (unit == ProgressUnit::Bytes && !tty_ && total < (1ull << 30));
}

Progress::~Progress() { finish(); }

void Progress::add(std::uint64_t done_now) {
  throw_if_interrupted();
  std::lock_guard lock(mutex_);
  done_ += done_now;
  const auto now = std::chrono::steady_clock::now();
  if (!quiet_ && done_ < total_ && now - last_draw_ > std::chrono::milliseconds(tty_ ? 200 : 5000)) {
    last_draw_ = now;
    drawn_ = true;
    draw(false);
  }
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  // A byte count shows its final line only after a line in flight: a quick copy prints nothing.
  if (!quiet_ && (unit_ == ProgressUnit::Items || drawn_)) draw(true);
}

void Progress::draw(bool final) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double done = static_cast<double>(std::min(done_, total_)), total = static_cast<double>(total_);
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  const double eta = rate > 0 ? (total - done) / rate : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / total);
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  const std::string count = unit_ == ProgressUnit::Bytes
                                ? fmt::format("{} / {} {}/s", human_bytes(done), human_bytes(total), human_bytes(rate))
                                : fmt::format("{}/{} {:.1f}/s", done_, total_, rate);
  const std::string text =
      fmt::format("{} [{}] {} elapsed {} ETA {}", label_, bar, count, format_duration(elapsed), !final ? format_duration(eta) : done_ >= total_ ? "done" : "stopped");
  if (tty_) fmt::print(stderr, "\r{}\x1b[K{}", text, final ? "\n" : "");
  else fmt::print(stderr, "{}\n", text);
  std::fflush(stderr);
}

}  // namespace qk
