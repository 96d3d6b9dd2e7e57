#include "util/progress.hpp"

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

Progress::Progress(std::string label, std::uint64_t total_bytes, bool quiet)
    : label_(std::move(label)), total_(total_bytes), quiet_(quiet || !::isatty(STDERR_FILENO) && total_bytes < (1ull << 30)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() {
  if (drawn_) std::fputc('\n', stderr);
}

void Progress::add(std::uint64_t bytes) {
  done_ += bytes;
  throw_if_interrupted();
  auto now = std::chrono::steady_clock::now();
  if (!quiet_ && now - last_draw_ > std::chrono::milliseconds(isatty(STDERR_FILENO) ? 200 : 5000)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (!quiet_ && drawn_) draw(true);
}

void Progress::draw(bool final) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = seconds > 0 ? done_ / seconds : 0;
  double eta = rate > 0 && total_ > done_ ? (total_ - done_) / rate : 0;
  double percent = total_ ? 100.0 * done_ / total_ : 100.0;
  bool tty = ::isatty(STDERR_FILENO);
  fmt::print(stderr, "{}{}: {:5.1f}%  {} / {}  {}/s  ETA {:.0f}s{}", tty ? "\r" : "", label_, percent, human_bytes(done_),
             human_bytes(total_), human_bytes(rate), eta, tty ? "   " : "\n");
  drawn_ = tty && !final;
  if (final && tty) std::fputc('\n', stderr);
}

}  // namespace qk
