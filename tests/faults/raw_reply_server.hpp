// A loopback HTTP "server" that answers every connection with fixed raw bytes (status line,
// headers and body exactly as given, however broken), for testing and fuzzing what a client makes
// of a server's reply. Used by tests/faults and fuzz/http_reply_fuzzer.cpp.
#pragma once
#include <arpa/inet.h>
#include <mutex>
#include <stdexcept>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace qk::test {

// Answers every connection with `reply` after reading the request, then closes.
class RawReplyServer {
 public:
  // One per process: the accept thread is detached and outlives any scope, so the server is never destroyed.
  static RawReplyServer& shared() {
    static auto* server = new RawReplyServer();
    return *server;
  }
  RawReplyServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot listen on loopback");
    port_ = ntohs(addr.sin_port);
    std::thread([this] { serve(); }).detach();
  }
  int port() const { return port_; }
  void set_reply(std::string reply) {
    std::lock_guard lock(mutex_);
    reply_ = std::move(reply);
  }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      read_request(fd);
      std::string reply;
      {
        std::lock_guard lock(mutex_);
        reply = reply_;
      }
      for (std::size_t sent = 0; sent < reply.size();) {
        ssize_t n = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
    }
  }
  // Reads the request head and its Content-Length body, so the client never writes into a closed socket.
  static void read_request(int fd) {
    std::string request;
    char buffer[4096];
    std::size_t need = std::string::npos;
    while (need == std::string::npos || request.size() < need) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<std::size_t>(n));
      auto head_end = request.find("\r\n\r\n");
      if (need == std::string::npos && head_end != std::string::npos) {
        auto at = request.find("Content-Length: ");
        std::size_t body = at != std::string::npos && at < head_end ? std::stoul(request.substr(at + 16)) : 0;
        need = head_end + 4 + body;
      }
    }
  }
  int listen_fd_ = -1;
  int port_ = 0;
  std::mutex mutex_;
  std::string reply_;
};

}  // namespace qk::test
