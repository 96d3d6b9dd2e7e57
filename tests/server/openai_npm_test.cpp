// The official `openai` npm client (tests/npm, pinned by its package-lock.json, installed by
// scripts/test.sh with `npm ci`) against `qkrestore serve` on the shipped models/base: the node script
// tests/npm/openai_client_test.mjs covers every route and option and runs the 64-client soak.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `qkrestore serve` as a child process on a free port; stderr goes to a file, from which the port is read.
// The API key reaches it through QKRESTORE_API_KEY, as an operator would pass it. 64 streaming clients
// from one address (the soak) and the test's own client are more than the default per-address cap.
class ServeChild {
 public:
  ServeChild(const fs::path& model, const std::string& name, const std::string& api_key) : log_(dir_.path() / "serve.log") {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setenv("QKRESTORE_API_KEY", api_key.c_str(), 1);
      ::execl(QK_BINARY, QK_BINARY, "serve", "--model", model.c_str(), "--port", "0", "--served-model-name", name.c_str(),
              "--max-connections-per-client", "128", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const std::regex bound("on http://127\\.0\\.0\\.1:([0-9]+)/v1");
    for (int i = 0; i < 600 && port_ == 0; ++i) {
      std::smatch m;
      const std::string text = read_file(log_);
      if (std::regex_search(text, m, bound)) port_ = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~ServeChild() { stop(); }
  // SIGTERM, as an operator stops it: the server drains and exits 0 (under ASan: with no leak report).
  // Returns the exit status, -1 when it had to be killed.
  int stop() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    int raw = 0;
    for (int i = 0; i < 400; ++i) {
      if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
        pid_ = -1;
        return status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return status_ = -1;
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_); }

 private:
  qk::test::TempDir dir_;
  fs::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = -1;
};

TEST(OpenAiNpmClient, EveryRouteAndOptionAndASoakOfStreamingClients) {
  const fs::path npm_dir = qk::test::source_dir() / "tests" / "npm";
  ASSERT_TRUE(fs::exists(npm_dir / "node_modules" / "openai" / "package.json"))
      << "the openai npm client is not installed: run `npm ci --prefix tests/npm` (scripts/test.sh does)";
  ASSERT_EQ(std::system("node --version > /dev/null 2>&1"), 0) << "node is not installed (scripts/install-deps.sh installs it)";
  const std::string api_key = "sk-qk-npm-test";
  ServeChild serve(qk::test::source_dir() / "models" / "base", "base", api_key);
  ASSERT_GT(serve.port(), 0) << serve.log();
  const std::string command = "QK_BASE_URL=http://127.0.0.1:" + std::to_string(serve.port()) + " QK_API_KEY=" + api_key +
                              " QK_MODEL=base QK_SERVER_PID=" + std::to_string(serve.pid()) + " node " +
                              qk::test::shell_quote((npm_dir / "openai_client_test.mjs").string()) + " 2>&1";
  const auto started = std::chrono::steady_clock::now();
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output << "\n--- serve log ---\n" << serve.log();
  EXPECT_NE(output.find("# fail 0"), std::string::npos) << output;
  // The soak's numbers, for the log (docs/engine.md quotes them).
  std::smatch soak;
  if (std::regex_search(output, soak, std::regex("soak: [^\\n]*"))) std::printf("[ npm      ] %s\n", soak.str().c_str());
  std::printf("[ npm      ] openai client tests: %.1f s\n", seconds);
  EXPECT_EQ(serve.stop(), 0) << serve.log();
}

}  // namespace
