// Copies byte ranges into output files on a thread of its own while the caller writes other ranges
// of the same files. Restore's bytes kept from SFT are a kernel copy (copy_file_range) that costs a
// core of system time; the restored tensors cost the caller a read and a SHA-256. Run one after the
// other they add up; on two cores they overlap, and restore takes about the time of `cp` alone.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
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
  // Starts copying at once. The files must outlive this object and be sized to hold every range.
  explicit BackgroundCopy(std::vector<CopyRange> ranges);
  // Without finish() (an error on the caller's side is on its way): stops at the next chunk and waits.
  ~BackgroundCopy();
  BackgroundCopy(const BackgroundCopy&) = delete;
  BackgroundCopy& operator=(const BackgroundCopy&) = delete;

  // Rethrows the copy's error, if it has failed already (lets the caller stop early).
  void rethrow_if_failed();
  // Waits until every range is copied; rethrows the copy's error.
  void finish();

 private:
  void run();
  std::vector<CopyRange> ranges_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;  // written by the thread before failed_ is set
  std::thread thread_;
};

}  // namespace qk
