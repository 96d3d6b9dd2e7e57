// Two runs writing the same OUT at the same time, many times over. Without --force exactly one
// installs OUT and the other says why it did not; with --force both may install (one after the
// other) or one may refuse. Either way OUT ends complete and verified, with no temporaries beside it.
#include "fault_support.hpp"

namespace qk {
namespace {

using test::PairCopy;

struct Tally {
  int rounds = 0, both_ok = 0, one_refused = 0;
};

Tally race(const PairCopy& pair, const fs::path& out, bool force, int rounds) {
  Tally tally;
  const std::vector<std::string> extra = force ? std::vector<std::string>{"--force"} : std::vector<std::string>{};
  for (int i = 0; i < rounds; ++i) {
    if (!force) fs::remove_all(out);
    auto a = test::start_qkrestore(pair.restore_args(out, extra));
    auto b = test::start_qkrestore(pair.restore_args(out, extra));
    auto ra = test::wait_qkrestore(a), rb = test::wait_qkrestore(b);
    ++tally.rounds;
    EXPECT_EQ(ra.signal, 0) << ra.stderr_text;
    EXPECT_EQ(rb.signal, 0) << rb.stderr_text;
    const int ok = (ra.exit_code == 0) + (rb.exit_code == 0);
    if (!force) EXPECT_EQ(ok, 1) << "round " << i << ": " << ra.stderr_text << " | " << rb.stderr_text;
    else EXPECT_GE(ok, 1) << "round " << i << ": " << ra.stderr_text << " | " << rb.stderr_text;
    if (ok == 2) ++tally.both_ok;
    else ++tally.one_refused;
    for (const auto* r : {&ra, &rb}) {
      if (r->exit_code == 0) continue;
      const bool clear = r->stderr_text.find("already exists") != std::string::npos ||
                         r->stderr_text.find("another run") != std::string::npos;
      EXPECT_TRUE(clear) << "round " << i << ": unclear refusal: " << r->stderr_text;
    }
    EXPECT_TRUE(fs::exists(out));
    EXPECT_TRUE(test::absent_or_verified(out, pair.base, pair.sft)) << "round " << i;
    EXPECT_TRUE(test::litter_beside(out).empty()) << "round " << i << " left " << test::litter_beside(out).front();
    EXPECT_FALSE(fs::exists(out / ".qkrestore.lock")) << "round " << i << ": lock file installed into OUT";
    if (::testing::Test::HasFailure()) break;
  }
  return tally;
}

TEST(ConcurrentOut, TwoRunsWithoutForce) {
  PairCopy pair("qwen3_next_sharded");
  auto t = race(pair, pair.dir / "out", false, test::fault_rounds(25));
  std::printf("[ faults   ] %d races without --force: %d times one refused\n", t.rounds, t.one_refused);
}

// Once disabled: a run starting while another created its staging directory removed it as stale, and a
// --force run moved the old OUT aside before installing (fixed: lock before the scanned name, RENAME_EXCHANGE).
TEST(ConcurrentOut, TwoRunsWithForce) {
  PairCopy pair("qwen3_next_sharded");
  ASSERT_EQ(test::run_qkrestore(pair.restore_args(pair.dir / "out")).exit_code, 0);
  auto t = race(pair, pair.dir / "out", true, test::fault_rounds(25));
  std::printf("[ faults   ] %d races with --force: %d both installed, %d one refused\n", t.rounds, t.both_ok, t.one_refused);
}

}  // namespace
}  // namespace qk
