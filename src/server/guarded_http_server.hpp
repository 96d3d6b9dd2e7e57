// The HTTP server `serve` listens with: cpp-httplib's Server, with what httplib 0.11 lacks to keep a
// client from holding a worker thread as long as it likes:
//  - a whole-request deadline: a client has `request_timeout` from connecting (or from the end of the
//    previous response on a kept-alive connection) to send its request line, headers and body; a
//    client that trickles a byte every few seconds is answered 408 and disconnected at the deadline.
//    httplib's read timeout bounds each read only (nginx: client_header_timeout / client_body_timeout,
//    60 s each by default). The deadline ends where the request is read: generating and streaming the
//    answer take as long as they take.
//  - a cap on the connections open at once from one client address: the next one is answered 429 and
//    closed at once, so no single address can occupy the whole worker pool (behind a reverse proxy
//    every client has the proxy's address: raise the cap or set it to 0 there);
//  - a listen backlog that holds a burst of connections (httplib's is 5, fixed when it was compiled:
//    the kernel drops the handshakes past it, and some clients of a burst of 16 failed).
// Everything else (routing, keep-alive bounds, read and write timeouts per socket operation) is
// httplib's; the connection loop replaces Server::process_and_close_socket and calls its
// process_request with a socket stream that knows the deadline.
#pragma once
#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace qk::server {

struct ConnectionLimits {
  double request_timeout_s = 60;                // whole request (line, headers, body); 0: none
  std::size_t max_connections_per_client = 64;  // open at once from one address; 0: no cap
  int listen_backlog = 1024;                    // connections the kernel holds until accepted (httplib: 5)
};

class GuardedHttpServer final : public httplib::Server {
 public:
  explicit GuardedHttpServer(const ConnectionLimits& limits) : limits_(limits) {}
  // Binds (port 0: any free port) and listens with the limits' backlog, not httplib's compile-time 5,
  // so that a burst of clients is not turned away at the handshake. Returns the port, -1 on failure.
  int bind(const std::string& host, int port);

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool serve_connection(socket_t sock);
  bool wait_while_running(socket_t sock, std::chrono::steady_clock::time_point until) const;
  std::chrono::steady_clock::duration write_timeout() const;
  bool admit(const std::string& address);
  void leave(const std::string& address);

  ConnectionLimits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> open_;  // connections being served, per client address
};

}  // namespace qk::server
