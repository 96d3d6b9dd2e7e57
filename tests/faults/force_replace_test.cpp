// `--force` over an existing OUT: the old and the new output are swapped in one rename
// (renameat2 RENAME_EXCHANGE), so a reader watching OUT (a server about to load it, a user's `ls`)
// finds it at every moment, and a kill at any moment leaves the old or the new OUT. Also the
// recovery of the fallback for filesystems without RENAME_EXCHANGE: an old OUT moved aside by a
// run that was killed before it installed its own is put back by the next run.
#include <atomic>
#include <sys/stat.h>

#include "fault_support.hpp"

namespace qk {
namespace {

using test::PairCopy;

TEST(ForceReplace, OutNeverMissingWhileReplaced) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path out = pair.dir / "out";
  ASSERT_EQ(test::run_qkrestore(pair.restore_args(out)).exit_code, 0);
  // A thread stats OUT as fast as it can while --force runs replace it; any ENOENT is a moment without OUT.
  std::atomic<bool> stop{false};
  std::atomic<long> looks{0}, missing{0};
  std::thread watcher([&] {
    struct stat st;
    while (!stop.load(std::memory_order_relaxed)) {
      if (::lstat(out.c_str(), &st) != 0) ++missing;
      ++looks;
    }
  });
  constexpr int kRuns = 20;
  int failed = 0;
  for (int i = 0; i < kRuns; ++i) failed += test::run_qkrestore(pair.restore_args(out, {"--force"})).exit_code != 0;
  stop = true;
  watcher.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(missing.load(), 0) << "OUT was missing in " << missing << " of " << looks << " looks during " << kRuns << " --force runs";
  EXPECT_TRUE(test::absent_or_verified(out, pair.base, pair.sft));
  EXPECT_TRUE(fs::exists(out));
  EXPECT_TRUE(test::litter_beside(out).empty()) << test::litter_beside(out).front();
  std::printf("[ faults   ] %d --force replacements watched by %ld stat calls: OUT missing %ld times\n", kRuns, looks.load(),
              missing.load());
}

// The pid of a process that has exited (and been reaped): what a killed run's pid looks like.
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(ForceReplace, OldOutMovedAsideByAKilledRunIsPutBack) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path out = pair.dir / "out";
  ASSERT_EQ(test::run_qkrestore(pair.restore_args(out)).exit_code, 0);
  const auto before = test::fingerprint(out);
  // The state a --force run on a filesystem without RENAME_EXCHANGE leaves when killed between its two renames.
  const fs::path aside = pair.dir / (".out.qkrestore-old-" + std::to_string(dead_pid()));
  fs::rename(out, aside);
  // A run without --force puts the old OUT back first, and then refuses to replace it.
  auto r = test::run_qkrestore(pair.restore_args(out));
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("already exists"), std::string::npos) << r.stderr_text;
  ASSERT_TRUE(fs::exists(out));
  EXPECT_EQ(test::fingerprint(out), before);
  EXPECT_TRUE(test::litter_beside(out).empty()) << test::litter_beside(out).front();
}

TEST(ForceReplace, OldOutAsideIsDroppedWhenANewOutIsInPlace) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path out = pair.dir / "out";
  ASSERT_EQ(test::run_qkrestore(pair.restore_args(out)).exit_code, 0);
  const fs::path aside = pair.dir / (".out.qkrestore-old-" + std::to_string(dead_pid()));
  fs::copy(out, aside, fs::copy_options::recursive);
  ASSERT_EQ(test::run_qkrestore(pair.restore_args(out, {"--force"})).exit_code, 0);
  EXPECT_TRUE(test::absent_or_verified(out, pair.base, pair.sft));
  EXPECT_TRUE(test::litter_beside(out).empty()) << test::litter_beside(out).front();
}

TEST(ForceReplace, LockFileLeftInOutByAKilledRunIsRemoved) {
  // A run killed between installing OUT and removing its lock file from it.
  PairCopy pair("qwen3_next_sharded");
  const fs::path out = pair.dir / "out";
  ASSERT_EQ(test::run_qkrestore(pair.restore_args(out)).exit_code, 0);
  test::write_bytes(out / ".qkrestore.lock", "");
  auto r = test::run_qkrestore(pair.restore_args(out));
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_FALSE(fs::exists(out / ".qkrestore.lock"));
}

}  // namespace
}  // namespace qk
