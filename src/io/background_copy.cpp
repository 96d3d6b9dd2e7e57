#include "io/background_copy.hpp"

#include <algorithm>

namespace qk {
namespace {

std::vector<CopyRange> cut_into_pieces(const std::vector<CopyRange>& ranges, std::uint64_t piece_bytes) {
  std::vector<CopyRange> pieces;
  for (const auto& r : ranges) {
    for (std::uint64_t done = 0; done < r.length; done += piece_bytes) {
      CopyRange piece = r;
      piece.offset += done;
      piece.source_offset += done;
      piece.length = std::min(piece_bytes, r.length - done);
      pieces.push_back(std::move(piece));
    }
  }
  return pieces;
}

}  // namespace

BackgroundCopy::BackgroundCopy(std::vector<CopyRange> ranges, std::uint64_t piece_bytes)
    : pieces_(cut_into_pieces(ranges, piece_bytes)), end_untaken_(pieces_.size()), thread_([this] { copy_pieces(End::Front); }) {}

BackgroundCopy::~BackgroundCopy() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::optional<std::size_t> BackgroundCopy::take_piece(End end) {
  std::lock_guard lock(mutex_);
  if (stop_ || first_untaken_ == end_untaken_) return std::nullopt;
  return end == End::Front ? first_untaken_++ : --end_untaken_;
}

void BackgroundCopy::copy_pieces(End end) {
  try {
    while (const auto i = take_piece(end)) {
      const CopyRange& p = pieces_[*i];
      p.to->copy_in(p.offset, p.source_fd, p.source_offset, p.length, p.source_label);
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::current_exception();
    stop_ = true;  // the other thread stops at its next piece
    failed_.store(true, std::memory_order_release);
  }
}

void BackgroundCopy::rethrow_if_failed() {
  if (failed_.load(std::memory_order_acquire)) finish();
}

void BackgroundCopy::finish() {
  copy_pieces(End::Back);
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
}

}  // namespace qk
