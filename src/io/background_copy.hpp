// Copies byte ranges into output files on a thread of its own while the caller writes other ranges
// of the same files, and lets the caller join in when it is done. Restore's bytes kept from SFT are a
// kernel copy (copy_file_range) that costs a core of system time; the restored tensors cost the caller
// a read and a SHA-256. Run one after the other they add up. On two cores they overlap, and once the
// caller's own part is written it takes pieces of the copy too, so neither core waits for the other.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "io/file_ops.hpp"

namespace qk {

struct CopyRange {
  OutputFile* to;
  std::uint64_t offset;  // in `to`
  int source_fd;
  std::uint64_t source_offset;
  std::uint64_t length;
  std::string source_label;  // for error messages
};

class BackgroundCopy {
 public:
  // The unit of work: an error elsewhere waits at most this long, and when the caller joins in, the two
  // threads finish within one piece of each other (64 MB: ~15 ms from the page cache).
  static constexpr std::uint64_t kPieceBytes = 64u << 20;

  // Starts copying at once. The files must outlive this object and be sized to hold every range.
  explicit BackgroundCopy(std::vector<CopyRange> ranges, std::uint64_t piece_bytes = kPieceBytes);
  // Without finish() (an error on the caller's side is on its way): stops at the next piece and waits.
  ~BackgroundCopy();
  BackgroundCopy(const BackgroundCopy&) = delete;
  BackgroundCopy& operator=(const BackgroundCopy&) = delete;

  // Rethrows the copy's error, if it has failed already (lets the caller stop early).
  void rethrow_if_failed();
  // Copies the pieces nobody has taken yet on the calling thread too, waits until every range is
  // copied, and rethrows the first error either thread met.
  void finish();

 private:
  // The thread takes pieces from the front, the caller from the back: two threads writing into the
  // same file serialize on its lock, in different shards they do not.
  enum class End { Front, Back };
  std::optional<std::size_t> take_piece(End end);
  // Takes pieces until none is left, the copy has failed, or the object is being destroyed.
  void copy_pieces(End end);
  std::vector<CopyRange> pieces_;  // the ranges cut so that a stop or a second thread waits at most one piece
  std::mutex mutex_;               // guards the untaken range and error_
  std::size_t first_untaken_ = 0;  // pieces [first_untaken_, end_untaken_) are still to copy
  std::size_t end_untaken_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;  // the first error; written before failed_ is set
  std::thread thread_;
};

}  // namespace qk
