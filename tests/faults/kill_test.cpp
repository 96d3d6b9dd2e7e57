// kill -9 of `restore` (and `procrustes`) at many moments of its run. After each kill: OUT is absent or complete and
// verified, the inputs are byte-identical, and a rerun succeeds, cleaning up whatever the killed
// run left behind. The moments are spread uniformly over the measured length of a clean run, so
// they land in startup, header validation, shard copies, the patching of Q/K rows and the commit.
#include <random>

#include "fault_support.hpp"

namespace qk {
namespace {

using namespace std::chrono;
using test::ChildOptions;
using test::PairCopy;

// `force`: every run replaces an existing complete OUT, so a kill may also land in the swap of the old and new OUT.
void kill_at_random_moments(const std::string& family, bool force, int full_kills, const std::string& command = "restore") {
  const int kills = test::fault_rounds(full_kills);
  PairCopy pair(family);
  const fs::path out = pair.dir / "out";
  const auto inputs_before = std::pair{test::fingerprint(pair.base), test::fingerprint(pair.sft)};
  const microseconds length = test::clean_run_length(pair, out, command);
  std::mt19937 rng(20260408 + force);
  std::uniform_int_distribution<long> moment(0, length.count() * 6 / 5);
  const std::vector<std::string> extra = force ? std::vector<std::string>{"--force"} : std::vector<std::string>{};
  if (force) {
    ASSERT_EQ(test::run_qkrestore(pair.command_args(command, out)).exit_code, 0);
  }
  int killed = 0, finished = 0, litter_after_kill = 0;
  for (int i = 0; i < kills; ++i) {
    const microseconds when{moment(rng)};
    auto r = test::run_qkrestore(pair.command_args(command, out, extra), ChildOptions{when, {}});
    if (r.killed) ++killed;
    else {
      ++finished;
      ASSERT_EQ(r.exit_code, 0) << "unkilled run " << i << " failed: " << r.stderr_text;
    }
    if (!test::litter_beside(out).empty()) ++litter_after_kill;
    ASSERT_TRUE(test::absent_or_verified(out, pair.base, pair.sft)) << "after kill " << i << " at " << when.count() << " us";
    if (force) {
      ASSERT_TRUE(fs::exists(out)) << "kill " << i << " at " << when.count() << " us lost the previous OUT";
    }
    ASSERT_EQ(test::fingerprint(pair.base), inputs_before.first) << "BASE changed by kill " << i;
    ASSERT_EQ(test::fingerprint(pair.sft), inputs_before.second) << "SFT changed by kill " << i;
    // The next run must not trip on anything the killed one left.
    if (!force) fs::remove_all(out);
    auto rerun = test::run_qkrestore(pair.command_args(command, out, extra));
    ASSERT_EQ(rerun.exit_code, 0) << "rerun after kill " << i << " at " << when.count() << " us: " << rerun.stderr_text;
    ASSERT_TRUE(test::litter_beside(out).empty()) << "rerun after kill " << i << " left " << test::litter_beside(out).front();
    ASSERT_TRUE(test::absent_or_verified(out, pair.base, pair.sft));
    if (!force) fs::remove_all(out);
  }
  // Enough kills must land inside the run, or the test proves nothing (the clean run is timed on a busy machine).
  EXPECT_GE(killed, 1);  // how many land inside depends on the machine: at least one must
  std::printf("[ faults   ] %s %s%s: %d kills inside the run (%d left temporaries the rerun removed), %d runs finished first; "
              "clean run %ld us\n",
              command.c_str(), family.c_str(), force ? " --force" : "", killed, litter_after_kill, finished, static_cast<long>(length.count()));
}

TEST(KillNine, ShardedRestoreAtRandomMoments) { kill_at_random_moments("qwen3_next_sharded", false, 60); }
// A kill during the swap must leave the old or the new OUT, never none (--force installs with RENAME_EXCHANGE).
TEST(KillNine, ForcedReplaceKeepsOldOrNewOut) { kill_at_random_moments("qwen3_next_sharded", true, 40); }
TEST(KillNine, ResavedInBf16AtRandomMoments) { kill_at_random_moments("llama_fp32_base_bf16_sft", false, 30); }

TEST(KillNine, ProcrustesAtRandomMoments) {
  // procrustes computes each layer's rotation before writing it: a different rhythm of writes.
  if (test::run_qkrestore({"procrustes", "--help"}).exit_code != 0) GTEST_SKIP() << "this qkrestore has no procrustes command";
  kill_at_random_moments("qwen3_next_sharded", false, 40, "procrustes");
}

}  // namespace
}  // namespace qk
