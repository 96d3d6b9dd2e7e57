// A full disk while writing OUT, two ways: a per-file size limit (RLIMIT_FSIZE, works anywhere) at
// many sizes, and a real tiny tmpfs (ENOSPC) at many capacities where mounting is permitted. Each
// time: a non-zero exit naming the problem, no OUT, no temporaries, inputs unchanged; then, with
// room, a rerun in the same place succeeds.
#include <sys/mount.h>

#include "fault_support.hpp"

namespace qk {
namespace {

using test::ChildOptions;
using test::PairCopy;

std::uint64_t largest_output_file(const PairCopy& pair, const fs::path& out, std::uint64_t* total) {
  EXPECT_EQ(test::run_qkrestore(pair.restore_args(out)).exit_code, 0);
  std::uint64_t largest = 0;
  *total = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    largest = std::max<std::uint64_t>(largest, e.file_size());
    *total += e.file_size();
  }
  fs::remove_all(out);
  return largest;
}

void expect_clean_failure(const test::ChildResult& r, const fs::path& out, const std::string& expected_text, const std::string& what) {
  EXPECT_NE(r.exit_code, 0) << what;
  EXPECT_EQ(r.signal, 0) << what << ": died of signal " << r.signal;
  EXPECT_NE(r.stderr_text.find(expected_text), std::string::npos) << what << ": stderr was: " << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(out.filename().string()), std::string::npos) << what << ": message should name the file";
  EXPECT_FALSE(fs::exists(out)) << what;
  EXPECT_TRUE(test::litter_beside(out).empty()) << what << ": left " << test::litter_beside(out).front();
}

TEST(DiskFull, FileSizeLimitAtManySizes) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path out = pair.dir / "out";
  const auto inputs = std::pair{test::fingerprint(pair.base), test::fingerprint(pair.sft)};
  std::uint64_t total = 0;
  const std::uint64_t largest = largest_output_file(pair, out, &total);
  int faults = 0;
  // From 1 KiB: the limit also applies to the stderr file the child writes its message to.
  for (std::uint64_t limit = 1024; limit < largest; limit += largest / 23 + 1) {
    auto r = test::run_qkrestore(pair.restore_args(out), ChildOptions{{}, limit});
    expect_clean_failure(r, out, "File too large", "RLIMIT_FSIZE " + std::to_string(limit));
    ++faults;
  }
  // Resharding writes new headers and per-tensor copies: a different write path.
  for (std::uint64_t limit = 1024; limit < largest; limit += largest / 7 + 1) {
    auto r = test::run_qkrestore(pair.restore_args(out, {"--max-shard-size", "30KB"}), ChildOptions{{}, limit});
    expect_clean_failure(r, out, "File too large", "resharding, RLIMIT_FSIZE " + std::to_string(limit));
    ++faults;
  }
  EXPECT_EQ(test::fingerprint(pair.base), inputs.first);
  EXPECT_EQ(test::fingerprint(pair.sft), inputs.second);
  auto r = test::run_qkrestore(pair.restore_args(out));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_TRUE(test::absent_or_verified(out, pair.base, pair.sft));
  std::printf("[ faults   ] %d file-size-limit faults (largest output file %llu bytes)\n", faults,
              static_cast<unsigned long long>(largest));
}

// Mounts a tmpfs of `bytes` at `dir` for the scope; mounted() is false where that is not permitted.
class TinyTmpfs {
 public:
  TinyTmpfs(const fs::path& dir, std::uint64_t bytes) : dir_(dir) {
    fs::create_directories(dir);
    const std::string options = "size=" + std::to_string(bytes);
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~TinyTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

TEST(DiskFull, RealTmpfsAtManyCapacities) {
  PairCopy pair("qwen3_next_sharded");
  std::uint64_t total = 0;
  largest_output_file(pair, pair.dir / "probe", &total);
  const auto inputs = std::pair{test::fingerprint(pair.base), test::fingerprint(pair.sft)};
  int faults = 0;
  // tmpfs counts whole pages per file, so capacities step in pages up to the output's size.
  for (std::uint64_t capacity = 4096; capacity < total; capacity += 4096 * 3) {
    TinyTmpfs disk(pair.dir / ("disk" + std::to_string(capacity)), capacity);
    if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs is not permitted here (needs root); RLIMIT_FSIZE covers ENOSPC-like failures";
    const fs::path out = pair.dir / ("disk" + std::to_string(capacity)) / "out";
    auto r = test::run_qkrestore(pair.restore_args(out));
    if (r.exit_code == 0) {  // the output fitted after all (tmpfs rounding): it must then be complete
      EXPECT_TRUE(test::absent_or_verified(out, pair.base, pair.sft));
      continue;
    }
    expect_clean_failure(r, out, "No space left on device", "tmpfs of " + std::to_string(capacity) + " bytes");
    ++faults;
  }
  EXPECT_GT(faults, 5);
  EXPECT_EQ(test::fingerprint(pair.base), inputs.first);
  EXPECT_EQ(test::fingerprint(pair.sft), inputs.second);
  TinyTmpfs roomy(pair.dir / "roomy", total * 4);
  auto r = test::run_qkrestore(pair.restore_args(pair.dir / "roomy" / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_TRUE(test::absent_or_verified(pair.dir / "roomy" / "out", pair.base, pair.sft));
  std::printf("[ faults   ] %d full-disk (tmpfs ENOSPC) faults, output %llu bytes\n", faults, static_cast<unsigned long long>(total));
}

}  // namespace
}  // namespace qk
