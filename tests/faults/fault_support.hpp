// Shared by the fault-injection tests: running the real qkrestore binary as a child process (with a
// kill at a chosen moment, or a file-size limit), fingerprints of input trees, and the checks every
// fault must pass: OUT absent or complete and verified, no temporaries left, inputs unchanged.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>

#include "arch/profile.hpp"
#include "io/checkpoint.hpp"
#include "support/temp_dir.hpp"
#include "surgery/verify.hpp"
#include "util/sha256.hpp"

namespace qk {
namespace fs = std::filesystem;
}  // namespace qk

namespace qk::test {

// How many times a fault test repeats its property at random moments. The plain suite runs the full count:
// that is what samples the moments. scripts/sanitize.sh sets QK_FAULT_ROUNDS_DIVISOR=4: under ASan every run
// is about five times slower, and what the sanitizer looks for (a bad access, a leak) shows in any run that
// reaches the code, not in how many moments are drawn; at least 6 rounds are kept so the kill still lands
// inside the run.
inline int fault_rounds(int full) {
  const char* divisor_text = std::getenv("QK_FAULT_ROUNDS_DIVISOR");
  const int divisor = divisor_text ? std::max(1, std::atoi(divisor_text)) : 1;
  return std::max(std::min(full, 6), full / divisor);
}

struct ChildResult {
  bool killed = false;     // ended by our SIGKILL
  int exit_code = -1;      // when it exited by itself
  int signal = 0;          // when a signal ended it
  std::string stderr_text;
};

struct ChildOptions {
  std::optional<std::chrono::microseconds> kill_after;  // SIGKILL this long after the start
  std::optional<rlim_t> file_size_limit;               // RLIMIT_FSIZE (a "full disk" for the child)
  bool as_nobody = false;                              // drop root, so file permissions apply
};

// The qkrestore under test: this build's, or another one named by QK_FAULTS_BINARY (an older
// release, the sanitized build) to run the same faults against it.
inline const char* binary_under_test() {
  const char* other = std::getenv("QK_FAULTS_BINARY");
  return other && *other ? other : QK_BINARY;
}

struct RunningChild {
  pid_t pid = -1;
  std::shared_ptr<TempDir> scratch;  // holds the captured stderr
};

// Starts QK_BINARY with `args`; stdout is discarded, stderr captured.
inline RunningChild start_qkrestore(const std::vector<std::string>& args, const ChildOptions& options = {}) {
  RunningChild child{-1, std::make_shared<TempDir>()};
  const fs::path err_path = *child.scratch / "stderr";
  child.pid = ::fork();
  if (child.pid == 0) {
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(err, 2);
    ::dup2(null, 1);
    if (options.file_size_limit) {
      // Ignored, SIGXFSZ turns an oversized write into EFBIG, what a full disk's ENOSPC looks like to the writer.
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit limit{*options.file_size_limit, *options.file_size_limit};
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    if (options.as_nobody && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(126);
    std::vector<char*> argv{const_cast<char*>(binary_under_test())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(binary_under_test(), argv.data());
    ::_exit(127);
  }
  return child;
}

// Waits for the child, killing it with SIGKILL once `kill_after` has passed since `started`.
inline ChildResult wait_qkrestore(const RunningChild& child, std::optional<std::chrono::microseconds> kill_after = {},
                                  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now()) {
  ChildResult result;
  int status = 0;
  if (kill_after) {
    const auto deadline = started + *kill_after;
    // Poll so a child that finishes first is reaped, not killed after the fact.
    while (true) {
      pid_t done = ::waitpid(child.pid, &status, WNOHANG);
      if (done == child.pid) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(child.pid, SIGKILL);
        ::waitpid(child.pid, &status, 0);
        result.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  } else {
    ::waitpid(child.pid, &status, 0);
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.stderr_text = read_bytes(*child.scratch / "stderr");
  return result;
}

inline ChildResult run_qkrestore(const std::vector<std::string>& args, const ChildOptions& options = {}) {
  const auto started = std::chrono::steady_clock::now();
  return wait_qkrestore(start_qkrestore(args, options), options.kill_after, started);
}

// SHA-256 of every regular file under `dir`, with its mode, keyed by relative path: equal
// fingerprints mean the tree is byte-identical.
inline std::map<std::string, std::string> fingerprint(const fs::path& dir) {
  std::map<std::string, std::string> result;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = read_bytes(e.path());
    result[fs::relative(e.path(), dir).string()] =
        sha256_hex(std::as_bytes(std::span(bytes.data(), bytes.size()))) + " " +
        std::to_string(static_cast<unsigned>(fs::status(e.path()).permissions()));
  }
  return result;
}

// Names beside OUT that a qkrestore run leaves while it works (temporaries, an old OUT moved aside).
inline std::vector<std::string> litter_beside(const fs::path& out) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(out.parent_path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("." + out.filename().string() + ".qkrestore-", 0) == 0) found.push_back(name);
  }
  return found;
}

// A private copy of a test checkpoint pair (so a test may damage it, and so any write to an input shows).
struct PairCopy {
  TempDir dir;
  fs::path base, sft;
  explicit PairCopy(const std::string& family) {
    base = dir / "base";
    sft = dir / "sft";
    fs::copy(checkpoints_dir() / family / "base", base, fs::copy_options::recursive);
    fs::copy(checkpoints_dir() / family / "sft", sft, fs::copy_options::recursive);
  }
  std::vector<std::string> restore_args(const fs::path& out, std::vector<std::string> extra = {}) const {
    return command_args("restore", out, std::move(extra));
  }
  // Any surgery command taking --base/--sft/--out (restore, procrustes ...).
  std::vector<std::string> command_args(const std::string& command, const fs::path& out, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{command, "--base", base.string(), "--sft", sft.string(), "--out", out.string(), "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

// The longest of three clean restores of `pair` into `out` (removed afterwards): the span over
// which faults are injected at random moments.
inline std::chrono::microseconds clean_run_length(const PairCopy& pair, const fs::path& out, const std::string& command = "restore") {
  using namespace std::chrono;
  microseconds longest{0};
  for (int i = 0; i < 3; ++i) {
    fs::remove_all(out);
    const auto start = steady_clock::now();
    auto r = run_qkrestore(pair.command_args(command, out));
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    longest = std::max(longest, duration_cast<microseconds>(steady_clock::now() - start));
  }
  fs::remove_all(out);
  return longest;
}

// OUT is either absent or a complete output that `verify` accepts byte for byte.
inline ::testing::AssertionResult absent_or_verified(const fs::path& out, const fs::path& base, const fs::path& sft) {
  if (!fs::exists(out)) return ::testing::AssertionSuccess();
  try {
    const Checkpoint b(base), s(sft);
    const VerifyReport report = verify_output(b, s, out, FamilyTable::builtin(), true);
    if (!report.problems.empty()) return ::testing::AssertionFailure() << out << " exists but fails verify: " << report.problems.front();
    if (report.tensors_checked != s.tensor_names().size())
      return ::testing::AssertionFailure() << out << " verified only " << report.tensors_checked << " tensors";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << out << " exists but cannot be verified: " << e.what();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace qk::test
