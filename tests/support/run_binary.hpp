// Runs the built qkrestore binary (QK_BINARY) and captures its exit status and output.
#pragma once
#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace qk::test {

struct RunResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline RunResult run_qkrestore(const std::string& args) {
  RunResult result;
  std::string command = shell_quote(QK_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  std::size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  int raw = ::pclose(pipe);
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return result;
}

}  // namespace qk::test
