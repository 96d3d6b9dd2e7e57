// What keeps one client from holding `serve`'s workers, and the API key: a slow-loris client (a byte
// every second, well within the 5 s per-read timeout) is answered 408 and cut off at the whole-request
// deadline (2.5 s here) while 16 normal clients are served, all of them connecting at once (the
// listen backlog holds the burst); a client address past its connection cap gets 429 while
// others are served; with an API key, requests without it get 401 in OpenAI's error shape, with it 200.
// Short deadlines keep each test to a few seconds.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/openai_server.hpp"
#include "support/loopback.hpp"
#include "support/test_models.hpp"

using namespace qk;
using namespace std::chrono;
using nlohmann::json;

namespace {

const std::string kCompletion = json{{"model", "tiny"}, {"prompt", "The needle is"}, {"max_tokens", 2}}.dump();

// A server on a free loopback port, serving the tiny model, for the life of the object.
class Serving {
 public:
  explicit Serving(server::ServerOptions options) {
    static const auto service = engine_service::EngineService::open(test::tiny_engine_model());
    options.port = 0;
    options.model_name = "tiny";
    http_ = std::make_unique<server::OpenAiServer>(*service, std::move(options));
    port_ = http_->bind();
    thread_ = std::thread([this] { http_->serve(); });
  }
  ~Serving() {
    http_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }

 private:
  std::unique_ptr<server::OpenAiServer> http_;
  std::thread thread_;
  int port_ = 0;
};

// Everything the server sends until it closes the connection or `until` passes; `closed` tells which.
std::string read_until_closed(int fd, steady_clock::time_point until, bool& closed) {
  std::string text;
  closed = false;
  for (;;) {
    const auto left = duration_cast<milliseconds>(until - steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return text;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed = true;
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

json body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? json() : json::parse(response.substr(at + 4), nullptr, false);
}

TEST(ConnectionLimits, SlowLorisIsCutOffAtTheDeadlineWhileSixteenClientsAreServed) {
  server::ServerOptions options;
  constexpr double kDeadline = 2.5;
  options.request_timeout_s = kDeadline;
  Serving serving(options);
  const int slow = test::connect_loopback(serving.port(), "127.0.0.1");
  ASSERT_GE(slow, 0);
  const auto connected = steady_clock::now();
  // The slow client: a valid request, one byte every second (each read well within the 5 s read timeout).
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: " + std::to_string(kCompletion.size()) + "\r\n\r\n" + kCompletion;
    for (char c : request) {
      if (stop || ::send(slow, &c, 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(seconds(1));
    }
  });
  // 16 normal clients meanwhile, each with its own connection.
  std::atomic<int> served{0};
  std::mutex failures_mutex;
  std::string failures;
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i)
    clients.emplace_back([&] {
      auto res = serving.client().Post("/v1/completions", kCompletion, "application/json");
      if (res && res->status == 200) {
        ++served;
        return;
      }
      std::lock_guard lock(failures_mutex);
      failures += res ? std::to_string(res->status) + " " + res->body + "\n" : httplib::to_string(res.error()) + "\n";
    });
  bool closed = false;
  const std::string reply = read_until_closed(slow, connected + seconds(10), closed);
  const double cut_after = duration<double>(steady_clock::now() - connected).count();
  stop = true;
  trickle.join();
  for (auto& t : clients) t.join();
  ::close(slow);
  EXPECT_EQ(served.load(), 16) << failures;
  ASSERT_TRUE(closed) << "the slow client was still connected after 10 s";
  EXPECT_GE(cut_after, kDeadline - 0.1);
  EXPECT_LT(cut_after, kDeadline + 1.5) << "the slow client was cut off " << cut_after << " s after connecting (deadline "
                                         << kDeadline << " s)";
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 408 ")) << reply;
  EXPECT_EQ(body_of(reply)["error"]["code"], "request_timeout") << reply;
  std::printf("[ limits   ] slow loris cut off after %.2f s (deadline %.1f s); %d of 16 normal clients served\n", cut_after,
              kDeadline, served.load());
}

TEST(ConnectionLimits, AClientPastItsConnectionCapGets429WhileOthersAreServed) {
  server::ServerOptions options;
  options.max_connections_per_client = 4;
  options.keep_alive_timeout_s = 30;  // the held connections stay open while the test runs
  options.request_timeout_s = 30;
  Serving serving(options);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(test::connect_loopback(serving.port(), "127.0.0.2"));
    ASSERT_GE(held.back(), 0);
  }
  std::this_thread::sleep_for(milliseconds(300));  // the server has taken all four
  const int fifth = test::connect_loopback(serving.port(), "127.0.0.2");
  ASSERT_GE(fifth, 0);
  bool closed = false;
  const std::string refused = read_until_closed(fifth, steady_clock::now() + seconds(5), closed);
  ::close(fifth);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 429 ")) << refused;
  EXPECT_EQ(body_of(refused)["error"]["code"], "rate_limit_exceeded") << refused;
  // Another address is served meanwhile.
  auto res = serving.client().Get("/v1/models");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // A freed slot is taken again.
  ::close(held.back());
  held.pop_back();
  std::this_thread::sleep_for(milliseconds(300));
  const int again = test::connect_loopback(serving.port(), "127.0.0.2");
  ASSERT_GE(again, 0);
  const std::string get = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(again, get.data(), get.size(), MSG_NOSIGNAL);
  const std::string answered = read_until_closed(again, steady_clock::now() + seconds(5), closed);
  ::close(again);
  EXPECT_TRUE(answered.starts_with("HTTP/1.1 200 ")) << answered;
  for (int fd : held) ::close(fd);
}

TEST(ApiKey, RequestsWithoutTheKeyGet401WithIt200) {
  server::ServerOptions options;
  options.api_key = "sk-qk-test";
  Serving serving(options);
  auto client = serving.client();
  for (const auto& [route, content] : {std::pair<std::string, std::string>{"/v1/completions", kCompletion},
                                       std::pair<std::string, std::string>{"/v1/models", ""}}) {
    SCOPED_TRACE(route);
    const std::string path = route, body = content;  // named copies: clang 14 lambdas cannot capture bindings
    auto send = [&](const httplib::Headers& headers) {
      return body.empty() ? client.Get(path.c_str(), headers) : client.Post(path.c_str(), headers, body, "application/json");
    };
    auto none = send({});
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401);
    const json error = json::parse(none->body);
    EXPECT_EQ(error["error"]["type"], "invalid_request_error");
    EXPECT_EQ(error["error"]["code"], "invalid_api_key");
    EXPECT_TRUE(error["error"]["message"].is_string());
    EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
    auto wrong = send({{"Authorization", "Bearer sk-qk-tesT"}});
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
    auto right = send({{"Authorization", "Bearer sk-qk-test"}});
    ASSERT_TRUE(right);
    EXPECT_EQ(right->status, 200) << right->body;
  }
  // The health check stays open (load balancers probe it without credentials), as vLLM's /health.
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

}  // namespace
