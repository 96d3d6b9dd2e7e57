#include "server/guarded_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "server/openai_request.hpp"

namespace qk::server {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// poll() one socket for `events` until `until` (EINTR retried). > 0: ready, 0: time is up, < 0: error.
int wait_for(int sock, short events, Clock::time_point until) {
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(until - Clock::now()).count();
    pollfd p{sock, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 0, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n != 0 || Clock::now() >= until) return n;
  }
}

// The peer's (remote) or our (local) address of a connected socket, as text.
void socket_address(int sock, bool remote, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  auto* raw = reinterpret_cast<sockaddr*>(&addr);
  ip.clear();
  port = 0;
  if ((remote ? ::getpeername(sock, raw, &length) : ::getsockname(sock, raw, &length)) != 0) return;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (addr.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    if (::inet_ntop(AF_INET, &v4->sin_addr, text.data(), text.size())) ip = text.data();
    port = ntohs(v4->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (::inet_ntop(AF_INET6, &v6->sin6_addr, text.data(), text.size())) ip = text.data();
    port = ntohs(v6->sin6_port);
  }
}

// httplib's SocketStream (reads buffered, each read and write bounded by its timeout), plus the
// request deadline: once it has passed, reads fail and the request is marked expired, and so do
// writes, so that httplib's own reply to a half-read request (400) gives way to our 408.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(int sock, Clock::duration read_timeout, Clock::duration write_timeout)
      : sock_(sock), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  void start_request(std::optional<Clock::time_point> deadline) {
    deadline_ = deadline;
    expired_ = false;
  }
  bool expired() const { return expired_; }
  bool has_buffered() const { return begin_ < end_; }

  bool is_readable() const override { return has_buffered() || wait_readable(); }
  bool is_writable() const override {
    return !expired_ && wait_for(sock_, POLLOUT, Clock::now() + write_timeout_) > 0 && peer_open();
  }
  ssize_t read(char* ptr, size_t size) override {
    if (!has_buffered()) {
      if (!wait_readable()) return -1;
      const ssize_t n = ::recv(sock_, buffer_.data(), buffer_.size(), 0);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_.data() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    return ::send(sock_, ptr, size, MSG_NOSIGNAL);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { socket_address(sock_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { socket_address(sock_, false, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  // Input within the read timeout and before the deadline; past the deadline the request has expired.
  bool wait_readable() const {
    const auto now = Clock::now();
    if (deadline_ && now >= *deadline_) return (expired_ = true, false);
    const auto until = deadline_ ? std::min(*deadline_, now + read_timeout_) : now + read_timeout_;
    if (wait_for(sock_, POLLIN, until) > 0) return true;
    if (deadline_ && Clock::now() >= *deadline_) expired_ = true;
    return false;
  }
  // httplib's is_socket_alive: a readable socket with nothing to peek at has been closed by the peer.
  bool peer_open() const {
    pollfd p{sock_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return true;
    char c;
    return ::recv(sock_, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
  }

  int sock_;
  Clock::duration read_timeout_, write_timeout_;
  std::optional<Clock::time_point> deadline_;
  mutable bool expired_ = false;
  std::array<char, 4096> buffer_{};
  std::size_t begin_ = 0, end_ = 0;
};

// Answers with a JSON error and `Connection: close`, then reads what the client still sends for up to
// a second (a lingering close), so that it gets the reply rather than a reset of the connection.
void refuse(int sock, int status, const char* reason, const std::string& message, const std::string& type,
            const std::string& code, Clock::duration write_timeout) {
  const std::string body = error_body(message, type, "", code).dump();
  const std::string reply = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}", status,
      reason, body.size(), status == 429 ? "Retry-After: 1\r\n" : "", body);
  for (std::size_t sent = 0; sent < reply.size();) {
    if (wait_for(sock, POLLOUT, Clock::now() + write_timeout) <= 0) return;
    const ssize_t n = ::send(sock, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(sock, SHUT_WR);
  const auto linger_until = Clock::now() + std::chrono::seconds(1);
  std::array<char, 4096> sink;
  while (wait_for(sock, POLLIN, linger_until) > 0 && ::recv(sock, sink.data(), sink.size(), 0) > 0) {
  }
}

}  // namespace

int GuardedHttpServer::bind(const std::string& host, int port) {
  const int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
  // listen() again on a listening socket only changes its backlog.
  if (bound >= 0 && ::listen(svr_sock_, limits_.listen_backlog) != 0) return -1;
  return bound;
}

// Replaces httplib's: the same keep-alive loop over process_request, with the deadline stream, after the
// per-address cap.
bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
  std::string address;
  int port = 0;
  socket_address(sock, true, address, port);
  bool ok = false;
  if (admit(address)) {
    ok = serve_connection(sock);
    leave(address);
  } else {
    refuse(sock, 429, "Too Many Requests",
           fmt::format("too many connections from {} (at most {} at once; serve --max-connections-per-client)", address,
                       limits_.max_connections_per_client),
           "requests", "rate_limit_exceeded", write_timeout());
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

bool GuardedHttpServer::serve_connection(socket_t sock) {
  DeadlineStream stream(sock, std::chrono::seconds(read_timeout_sec_) + std::chrono::microseconds(read_timeout_usec_),
                        write_timeout());
  bool ok = false;
  auto ready_since = Clock::now();  // the connection waits for its next request since then
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    std::optional<Clock::time_point> deadline;
    if (limits_.request_timeout_s > 0)
      deadline = ready_since + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(limits_.request_timeout_s));
    // Idle until the first byte, at most the keep-alive timeout (and the deadline): then closed quietly.
    auto idle_until = ready_since + std::chrono::seconds(keep_alive_timeout_sec_);
    if (deadline) idle_until = std::min(idle_until, *deadline);
    if (!stream.has_buffered() && !wait_while_running(sock, idle_until)) break;
    stream.start_request(deadline);
    bool connection_closed = false;
    ok = process_request(stream, left == 1, connection_closed, nullptr);
    if (stream.expired()) {
      refuse(sock, 408, "Request Timeout",
             fmt::format("the request was not received within {} s (serve --request-timeout)", limits_.request_timeout_s),
             "invalid_request_error", "request_timeout", write_timeout());
      return false;
    }
    if (!ok || connection_closed) break;
    ready_since = Clock::now();
  }
  return ok;
}

// Input arrives before `until` while the server runs (checked every 100 ms, so that stop() does not wait
// out idle connections).
bool GuardedHttpServer::wait_while_running(socket_t sock, Clock::time_point until) const {
  while (svr_sock_ != INVALID_SOCKET) {
    const auto slice = std::min(until, Clock::now() + milliseconds(100));
    const int n = wait_for(sock, POLLIN, slice);
    if (n != 0) return n > 0;
    if (slice >= until) return false;
  }
  return false;
}

Clock::duration GuardedHttpServer::write_timeout() const {
  return std::chrono::seconds(write_timeout_sec_) + std::chrono::microseconds(write_timeout_usec_);
}

bool GuardedHttpServer::admit(const std::string& address) {
  std::lock_guard lock(mutex_);
  std::size_t& open = open_[address];
  if (limits_.max_connections_per_client && open >= limits_.max_connections_per_client) return false;
  ++open;
  return true;
}

void GuardedHttpServer::leave(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (--open_[address] == 0) open_.erase(address);
}

}  // namespace qk::server
