#include "io/background_copy.hpp"

#include <algorithm>

namespace qk {
namespace {

// How much is copied between two looks at the stop flag: an error elsewhere waits at most this long.
constexpr std::uint64_t kStopCheckBytes = 64u << 20;

}  // namespace

BackgroundCopy::BackgroundCopy(std::vector<CopyRange> ranges) : ranges_(std::move(ranges)), thread_([this] { run(); }) {}

BackgroundCopy::~BackgroundCopy() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void BackgroundCopy::run() {
  try {
    for (const auto& r : ranges_) {
      for (std::uint64_t done = 0; done < r.length && !stop_; done += kStopCheckBytes) {
        const std::uint64_t piece = std::min(kStopCheckBytes, r.length - done);
        r.to->copy_in(r.offset + done, r.source_fd, r.source_offset + done, piece, r.source_label);
      }
    }
  } catch (...) {
    error_ = std::current_exception();
    failed_.store(true, std::memory_order_release);
  }
}

void BackgroundCopy::rethrow_if_failed() {
  if (failed_.load(std::memory_order_acquire)) finish();
}

void BackgroundCopy::finish() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
}

}  // namespace qk
