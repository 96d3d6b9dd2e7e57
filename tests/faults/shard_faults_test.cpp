// Damaged or moving inputs: a shard that is unreadable, missing, not a file, or changed on disk
// while restore runs. Each is refused with a message naming the shard, and nothing is installed.
#include <fstream>
#include <random>

#include "fault_support.hpp"
#include "surgery/method.hpp"
#include "surgery/output.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

using namespace std::chrono;
using test::ChildOptions;
using test::PairCopy;

fs::path first_shard(const fs::path& dir) {
  std::vector<fs::path> shards;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") shards.push_back(e.path());
  std::sort(shards.begin(), shards.end());
  return shards.front();
}

// Timestamps are coarse (a kernel tick): age the inputs so a write right after opening them
// always moves the mtime.
void age(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) fs::last_write_time(e.path(), fs::file_time_type::clock::now() - hours(1));
}

void flip_byte_in_place(const fs::path& shard, std::uint64_t offset_from_end) {
  std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(-static_cast<std::streamoff>(offset_from_end), std::ios::end);
  char c = 0;
  f.get(c);
  f.seekp(-static_cast<std::streamoff>(offset_from_end), std::ios::end);
  f.put(static_cast<char>(c ^ 0x5a));
}

// In process, deterministic: the shard changes between opening the checkpoints and writing OUT.
OutputSummary restore_after(const PairCopy& pair, const fs::path& out, const std::function<void()>& change) {
  age(pair.base);
  age(pair.sft);
  Checkpoint base(pair.base), sft(pair.sft);
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  change();
  OutputOptions options;
  options.out = out;
  options.quiet = true;
  return write_output(base, sft, plan, RestoreMethod(), options);
}

void expect_refused(const PairCopy& pair, const std::function<void()>& change, const std::string& expected, const fs::path& shard) {
  const fs::path out = pair.dir / "out";
  try {
    restore_after(pair, out, change);
    ADD_FAILURE() << "a changed input was not detected (" << expected << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(shard.filename().string()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(test::litter_beside(out).empty());
}

TEST(ShardChanged, RewrittenInPlaceIsDetected) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path shard = first_shard(pair.sft);
  expect_refused(pair, [&] { flip_byte_in_place(shard, 4); }, "was modified while it was being read", shard);
}

TEST(ShardChanged, TouchedBaseShardIsDetected) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path shard = first_shard(pair.base);
  expect_refused(pair, [&] { fs::last_write_time(shard, fs::file_time_type::clock::now()); }, "was modified", shard);
}

TEST(ShardChanged, GrownIsDetected) {
  PairCopy pair("llama");
  const fs::path shard = first_shard(pair.sft);
  expect_refused(pair, [&] { std::ofstream(shard, std::ios::app | std::ios::binary) << "trailing"; }, "size", shard);
}

TEST(ShardChanged, ReplacedByRenameIsDetected) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path shard = first_shard(pair.sft);
  expect_refused(pair, [&] {
    fs::copy_file(shard, pair.dir / "replacement");
    fs::rename(pair.dir / "replacement", shard);
  }, "was replaced by another file", shard);
}

TEST(ShardChanged, RemovedIsDetected) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path shard = first_shard(pair.sft);
  expect_refused(pair, [&] { fs::remove(shard); }, "was removed or renamed", shard);
}

// Out of process, at random moments: a shard of SFT is rewritten (one byte flipped) while restore
// runs. Either restore refuses with a clear message and installs nothing, or OUT is exactly the
// output of the old SFT or of the new one (the change came before the shard was read, or after the
// check); never a mix.
TEST(ShardChanged, RewrittenAtRandomMomentsIsNeverMixed) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path out = pair.dir / "out";
  const fs::path shard = first_shard(pair.sft);
  test::TempDir old_sft;
  std::mt19937 rng(8);
  std::uniform_int_distribution<long> moment(0, test::clean_run_length(pair, out).count());
  int refused = 0, old_version = 0, new_version = 0;
  const int rewrites = test::fault_rounds(30);
  for (int i = 0; i < rewrites; ++i) {
    fs::remove_all(old_sft.path());
    fs::copy(pair.sft, old_sft.path(), fs::copy_options::recursive);
    age(pair.sft);
    const auto start = steady_clock::now();
    auto child = test::start_qkrestore(pair.restore_args(out));
    std::this_thread::sleep_for(microseconds(moment(rng)));
    flip_byte_in_place(shard, 4 + 64 * (i % 16));
    auto r = test::wait_qkrestore(child, {}, start);
    if (r.exit_code != 0) {
      ++refused;
      EXPECT_NE(r.stderr_text.find(shard.filename().string()), std::string::npos) << r.stderr_text;
      EXPECT_FALSE(fs::exists(out));
    } else if (test::absent_or_verified(out, pair.base, pair.sft)) {
      ++new_version;
    } else {
      EXPECT_TRUE(test::absent_or_verified(out, pair.base, old_sft.path())) << "run " << i << ": OUT matches neither SFT version";
      ++old_version;
    }
    EXPECT_TRUE(test::litter_beside(out).empty());
    fs::remove_all(out);
  }
  std::printf("[ faults   ] %d shard rewrites during restore: %d refused, %d outputs of the old SFT, %d of the new\n", rewrites, refused,
              old_version, new_version);
}

// A shard cut short while restore runs (a sync tool truncating it to rewrite it): the mapped pages
// beyond the new end fault with SIGBUS when touched. restore must still end with a message naming a
// file, never die of a signal, and a rerun must not trip on what it left.
TEST(ShardChanged, TruncatedAtRandomMomentsNeverCrashes) {
  int refused = 0, finished = 0;
  std::mt19937 rng(9);
  std::uniform_int_distribution<long> moment;
  {
    PairCopy probe("qwen3_next_sharded");
    moment = std::uniform_int_distribution<long>(0, test::clean_run_length(probe, probe.dir / "out").count());
  }
  const int truncations = test::fault_rounds(24);
  for (int i = 0; i < truncations; ++i) {
    PairCopy pair("qwen3_next_sharded");
    const fs::path out = pair.dir / "out";
    const fs::path shard = first_shard(i % 2 ? pair.base : pair.sft);
    const auto start = steady_clock::now();
    auto child = test::start_qkrestore(pair.restore_args(out));
    std::this_thread::sleep_for(microseconds(moment(rng)));
    fs::resize_file(shard, fs::file_size(shard) / 2);
    auto r = test::wait_qkrestore(child, {}, start);
    EXPECT_EQ(r.signal, 0) << "run " << i << " died of signal " << r.signal << ": " << r.stderr_text;
    if (r.exit_code == 0) {
      ++finished;  // truncated after restore was done with it and had checked it
    } else {
      ++refused;
      EXPECT_NE(r.stderr_text.find("qkrestore: error:"), std::string::npos) << r.stderr_text;
      EXPECT_FALSE(fs::exists(out));
    }
    // Restore the shard and rerun: whatever the first run left must not get in the way.
    fs::remove_all(out);
    fs::copy_file(test::checkpoints_dir() / "qwen3_next_sharded" / (i % 2 ? "base" : "sft") / shard.filename(), shard,
                  fs::copy_options::overwrite_existing);
    auto rerun = test::run_qkrestore(pair.restore_args(out));
    EXPECT_EQ(rerun.exit_code, 0) << rerun.stderr_text;
    EXPECT_TRUE(test::litter_beside(out).empty());
    EXPECT_TRUE(test::absent_or_verified(out, pair.base, pair.sft));
  }
  std::printf("[ faults   ] %d shard truncations during restore: %d refused, %d finished before\n", truncations, refused, finished);
}

TEST(ShardFaults, MissingShardNamedInIndex) {
  PairCopy pair("qwen3_next_sharded");
  const fs::path shard = first_shard(pair.sft);
  fs::remove(shard);
  auto r = test::run_qkrestore(pair.restore_args(pair.dir / "out"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.stderr_text.find(shard.filename().string() + " listed in the index does not exist"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(pair.dir / "out"));
}

TEST(ShardFaults, UnreadableShard) {
  PairCopy pair("llama");
  // Root reads anything: run the child as nobody, on world-readable inputs, writing into a world-writable directory.
  for (const auto& e : fs::recursive_directory_iterator(pair.dir.path()))
    fs::permissions(e.path(), e.is_directory() ? fs::perms::all : fs::perms::owner_read | fs::perms::owner_write |
                                                                       fs::perms::group_read | fs::perms::others_read);
  fs::permissions(pair.dir.path(), fs::perms::all);
  const fs::path shard = first_shard(pair.sft);
  fs::permissions(shard, fs::perms::none);
  auto r = test::run_qkrestore(pair.restore_args(pair.dir / "out"), ChildOptions{{}, {}, ::geteuid() == 0});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.stderr_text.find("cannot open " + shard.string() + ": Permission denied"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(pair.dir / "out"));
}

TEST(ShardFaults, ShardThatIsADirectoryOrAPipe) {
  for (const char* kind : {"directory", "fifo"}) {
    PairCopy pair("llama");
    const fs::path shard = first_shard(pair.sft);
    fs::remove(shard);
    if (std::string(kind) == "directory") fs::create_directory(shard);
    else ASSERT_EQ(::mkfifo(shard.c_str(), 0644), 0);
    // A pipe with no writer must not hang the reader: bound the run.
    auto r = test::run_qkrestore(pair.restore_args(pair.dir / "out"), ChildOptions{seconds(20), {}});
    EXPECT_FALSE(r.killed) << kind << ": restore hung";
    EXPECT_NE(r.exit_code, 0) << kind;
    EXPECT_NE(r.stderr_text.find(shard.string() + " is not a regular file"), std::string::npos) << kind << ": " << r.stderr_text;
    EXPECT_FALSE(fs::exists(pair.dir / "out"));
  }
}

}  // namespace
}  // namespace qk
