// `qkrestore serve` (a real child process on loopback, serving the tiny test model) under hostile
// clients: thousands of malformed bodies, an oversized body, idle half-open connections, clients
// that vanish mid-request, and a bounded concurrent load. The server must answer each bad request
// with a 4xx JSON error, never crash, and keep serving good requests in bounded time.
#include <arpa/inet.h>
#include <atomic>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <regex>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "fault_support.hpp"
#include "server/openai_server.hpp"
#include "support/loopback.hpp"
#include "support/test_models.hpp"

namespace qk {
namespace {

using namespace std::chrono;
using nlohmann::json;

const fs::path kModel = qk::test::tiny_engine_model();

class ServeProcess {
 public:
  ServeProcess() {
    child_ = test::start_qkrestore({"serve", "--model", kModel.string(), "--port", "0", "--served-model-name", "tiny"});
    const std::regex bound("on http://127\\.0\\.0\\.1:([0-9]+)/v1");
    for (int i = 0; i < 600 && port_ == 0; ++i) {  // the model loads in well under a minute
      std::smatch m;
      const std::string text = test::read_bytes(*child_.scratch / "stderr");
      if (std::regex_search(text, m, bound)) port_ = std::stoi(m[1]);
      else std::this_thread::sleep_for(milliseconds(100));
    }
  }
  ~ServeProcess() {
    ::kill(child_.pid, SIGTERM);
    test::wait_qkrestore(child_, seconds(20));
  }
  int port() const { return port_; }
  bool alive() const { return ::kill(child_.pid, 0) == 0 && ::waitpid(child_.pid, nullptr, WNOHANG) == 0; }
  httplib::Client client(int read_timeout_s = 60) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(read_timeout_s, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }
  std::string stderr_text() const { return test::read_bytes(*child_.scratch / "stderr"); }

 private:
  test::RunningChild child_;
  int port_ = 0;
};

using test::connect_loopback;

const std::string kGood = json{{"model", "tiny"}, {"prompt", "The needle is"}, {"max_tokens", 4}, {"temperature", 0}}.dump();

// Malformed bodies: every truncation of a good request, single-byte corruptions, wrong types, and edge values.
std::vector<std::pair<std::string, std::string>> malformed_requests() {
  std::vector<std::pair<std::string, std::string>> bodies;
  const std::string chat = json{{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 2}}.dump();
  for (const auto& [path, good] : {std::pair{"/v1/completions", kGood}, std::pair{"/v1/chat/completions", chat}}) {
    for (std::size_t cut = 0; cut < good.size(); ++cut) bodies.push_back({path, good.substr(0, cut)});
    std::mt19937 rng(3);
    for (int i = 0; i < 150; ++i) {
      std::string b = good;
      b[rng() % b.size()] = static_cast<char>(rng() % 256);
      bodies.push_back({path, b});
    }
  }
  // Each field of a completion request set to values of every wrong type and edge (written as text: 1e309, -0 ...).
  for (const char* field : {"max_tokens", "temperature", "top_p", "seed", "prompt", "stop", "n", "logprobs", "model"}) {
    for (const char* v : {"null", "true", "-1", "1e309", "18446744073709551616", "\"4\"", "[]", "{}", "0.5", "-0", "[1e308]"}) {
      json base = json::parse(kGood);
      base.erase(field);
      std::string text = base.dump();
      text.back() = ',';
      bodies.push_back({"/v1/completions", text + "\"" + field + "\": " + v + "}"});
    }
  }
  bodies.push_back({"/v1/completions", std::string(20000, '[') + std::string(20000, ']')});
  bodies.push_back({"/v1/completions", "{\"prompt\": \"\xff\xfe\", \"max_tokens\": 2}"});
  bodies.push_back({"/v1/completions", "{\"prompt\": [1, 2, -5], \"max_tokens\": 2}"});
  bodies.push_back({"/v1/completions", "{\"prompt\": [[1, 2]], \"max_tokens\": 2}"});
  bodies.push_back({"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": [1]}]}"});
  bodies.push_back({"/v1/chat/completions", "{\"messages\": \"hi\"}"});
  return bodies;
}

TEST(ServeFaults, MalformedRequestsGetJsonErrorsAndServingGoesOn) {
  ServeProcess serve;
  ASSERT_GT(serve.port(), 0) << serve.stderr_text();
  auto client = serve.client();
  int rejected = 0, answered = 0, total = 0;
  for (const auto& [path, body] : malformed_requests()) {
    ++total;
    auto res = client.Post(path.c_str(), body, "application/json");
    ASSERT_TRUE(res) << "no reply to " << body << ": " << httplib::to_string(res.error()) << "\n" << serve.stderr_text();
    if (res->status == 200) {  // some corruptions still form a valid request (a changed letter in the prompt)
      ++answered;
      continue;
    }
    ++rejected;
    EXPECT_GE(res->status, 400) << body;
    EXPECT_LT(res->status, 500) << body << " -> " << res->body;
    const json reply = json::parse(res->body, nullptr, false);
    EXPECT_TRUE(!reply.is_discarded() && reply.contains("error")) << body << " -> " << res->body;
  }
  EXPECT_TRUE(serve.alive());
  auto res = client.Post("/v1/completions", kGood, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  std::printf("[ faults   ] serve: %d malformed requests, %d rejected with a 4xx JSON error, %d valid after all\n", total, rejected,
              answered);
}

TEST(ServeFaults, OversizedBodyIsRefusedUnread) {
  ServeProcess serve;
  ASSERT_GT(serve.port(), 0) << serve.stderr_text();
  const std::string huge = "{\"prompt\": \"" + std::string((64u << 20) + 16, 'a') + "\"}";
  auto res = serve.client().Post("/v1/completions", huge, "application/json");
  // Refused with 413, or the connection closed on us: either way nothing was buffered or run.
  if (res) {
    EXPECT_EQ(res->status, 413);
  }
  EXPECT_TRUE(serve.alive());
  auto ok = serve.client().Post("/v1/completions", kGood, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// Whether the server closed `fd` (EOF or reset) within `deadline`.
bool closed_by_server_before(int fd, steady_clock::time_point deadline) {
  pollfd p{fd, POLLIN, 0};
  while (true) {
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
    // n > 0: an error reply to the half request (e.g. 400); keep reading until the server closes.
  }
}

// Once disabled (docs/hardening.md): 64 idle half-open connections held every one of httplib's default
// max(8, cores - 1) worker threads for its 5 s read timeout each, and a good request waited 40 s.
// Now serve's pool (ServerOptions::worker_threads) is larger than this crowd, so the good request must
// be answered well within one read timeout, and every idle connection must be dropped after it. The
// crowd comes from other addresses than the good client (64 idle ones: the per-address cap).
TEST(ServeFaults, IdleAndVanishingClientsDoNotStarveOthers) {
  const server::ServerOptions defaults;
  ServeProcess serve;
  ASSERT_GT(serve.port(), 0) << serve.stderr_text();
  // 64 connections that send half a request line and then nothing (more than httplib's default pool).
  std::vector<int> idle;
  const auto opened = steady_clock::now();
  for (int i = 0; i < 64; ++i) {
    int fd = connect_loopback(serve.port(), "127.0.0.2");
    ASSERT_GE(fd, 0);
    ::send(fd, "POST /v1/comp", 13, MSG_NOSIGNAL);
    idle.push_back(fd);
  }
  // 16 clients that send a request and vanish without reading the answer.
  for (int i = 0; i < 16; ++i) {
    int fd = connect_loopback(serve.port(), "127.0.0.3");
    const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(kGood.size()) + "\r\n\r\n" + kGood;
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);  // close with RST
    ::close(fd);
  }
  const auto start = steady_clock::now();
  auto res = serve.client(30).Get("/health");
  const double waited = duration<double>(steady_clock::now() - start).count();
  ASSERT_TRUE(res) << "a good client was starved by idle connections: " << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(waited, defaults.read_timeout_s) << "idle connections delayed a good client by more than one read timeout";
  // Each idle connection gives its thread back after one read timeout once the server has it (measured
  // 9-13 s from the first connect on a busy machine when httplib listened with a backlog of 5 and part of
  // the burst waited for the kernel's handshake retransmissions; serve's backlog is 1024 now).
  const auto deadline = opened + seconds(defaults.read_timeout_s) + seconds(25);
  int dropped = 0;
  for (int fd : idle) dropped += closed_by_server_before(fd, deadline);
  const double all_dropped_after = duration<double>(steady_clock::now() - opened).count();
  EXPECT_EQ(dropped, 64) << "idle connections still open " << all_dropped_after << " s after they went idle";
  for (int fd : idle) ::close(fd);
  EXPECT_TRUE(serve.alive());
  auto ok = serve.client().Post("/v1/completions", kGood, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  std::printf("[ faults   ] serve: 64 idle + 16 vanishing clients; a good request was answered after %.2f s, "
              "the idle ones were dropped within %.1f s\n", waited, all_dropped_after);
}

// Reads one HTTP response from `fd` (headers and a Content-Length body); empty when the server closed first.
std::string read_response(int fd) {
  std::string text;
  char c;
  while (text.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd, &c, 1, 0) != 1) return {};
    text += c;
  }
  std::smatch m;
  std::size_t length = 0;
  if (std::regex_search(text, m, std::regex("Content-Length: ([0-9]+)", std::regex::icase))) length = std::stoul(m[1]);
  std::string body(length, '\0');
  for (std::size_t got = 0; got < length;) {
    const ssize_t n = ::recv(fd, body.data() + got, length - got, 0);
    if (n <= 0) return {};
    got += static_cast<std::size_t>(n);
  }
  return text + body;
}

// A kept-alive connection holds a worker thread while it idles: it must give it back after the keep-alive
// timeout, and no connection may keep its thread for more than keep_alive_max_requests requests.
TEST(ServeFaults, KeptAliveConnectionsGiveTheirThreadBack) {
  const server::ServerOptions defaults;
  ServeProcess serve;
  ASSERT_GT(serve.port(), 0) << serve.stderr_text();
  const std::string get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

  int fd = connect_loopback(serve.port());
  ASSERT_GE(fd, 0);
  ::send(fd, get.data(), get.size(), MSG_NOSIGNAL);
  ASSERT_NE(read_response(fd), "");
  const auto idle_since = steady_clock::now();
  EXPECT_TRUE(closed_by_server_before(fd, idle_since + seconds(defaults.keep_alive_timeout_s) + milliseconds(1500)))
      << "an idle kept-alive connection was not closed within the keep-alive timeout";
  const double idle_closed = duration<double>(steady_clock::now() - idle_since).count();
  ::close(fd);

  fd = connect_loopback(serve.port());
  ASSERT_GE(fd, 0);
  std::size_t answered = 0;
  for (std::size_t i = 0; i < defaults.keep_alive_max_requests + 8; ++i) {
    if (::send(fd, get.data(), get.size(), MSG_NOSIGNAL) < 0 || read_response(fd).empty()) break;
    ++answered;
  }
  ::close(fd);
  EXPECT_EQ(answered, defaults.keep_alive_max_requests) << "requests answered on one kept-alive connection";
  EXPECT_TRUE(serve.alive());
  std::printf("[ faults   ] serve: idle kept-alive connection closed after %.2f s; %zu requests on one connection\n", idle_closed,
              answered);
}

TEST(ServeFaults, BoundedConcurrentLoad) {
  ServeProcess serve;
  ASSERT_GT(serve.port(), 0) << serve.stderr_text();
  constexpr int kClients = 12, kRequestsEach = 4;
  std::atomic<int> ok{0}, failed{0};
  std::vector<double> latencies(kClients * kRequestsEach);
  const auto start = steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c)
    threads.emplace_back([&, c] {
      auto client = serve.client(120);
      for (int r = 0; r < kRequestsEach; ++r) {
        const auto t0 = steady_clock::now();
        json body = json::parse(kGood);
        body["prompt"] = "client " + std::to_string(c) + " request " + std::to_string(r);
        auto res = client.Post("/v1/completions", body.dump(), "application/json");
        latencies[c * kRequestsEach + r] = duration<double>(steady_clock::now() - t0).count();
        (res && res->status == 200 ? ok : failed)++;
      }
    });
  for (auto& t : threads) t.join();
  const double total = duration<double>(steady_clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  EXPECT_EQ(ok.load(), kClients * kRequestsEach);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LT(total, 120.0);
  EXPECT_TRUE(serve.alive());
  std::printf("[ faults   ] serve load: %d clients x %d requests in %.2f s, latency p50 %.3f s, max %.3f s\n", kClients, kRequestsEach,
              total, latencies[latencies.size() / 2], latencies.back());
}

}  // namespace
}  // namespace qk
