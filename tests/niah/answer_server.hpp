// A real OpenAI-compatible HTTP server on loopback for the client tests. It answers NIAH prompts by
// reading them (finds the queried keys and their needles), and misbehaves on request, chosen by the
// "model" field: oracle (right answers), slow (right, after 300 ms), flaky (503 then 429 then right, per
// prompt), malformed (3 right replies, then garbage), half (only the first value), needs-key (401
// without "Authorization: Bearer sesame"), forbidden (400 always).
#pragma once
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <httplib.h>

namespace qk::niah::testing {

class AnswerServer {
 public:
  AnswerServer();
  ~AnswerServer();
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }  // every POST received, failures included
  int max_in_flight() const { return max_in_flight_; }

  // The values the prompt asks for, found in the prompt itself.
  static std::vector<std::string> answer_from_prompt(const std::string& prompt);

 private:
  void handle(const httplib::Request& request, httplib::Response& response, bool chat);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0}, in_flight_{0}, max_in_flight_{0}, good_replies_{0};
  std::mutex mutex_;
  std::map<std::string, int> attempts_by_prompt_;
};

}  // namespace qk::niah::testing
