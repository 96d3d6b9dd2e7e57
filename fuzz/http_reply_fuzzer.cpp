// Fuzzes what the NIAH client makes of a server's reply: the input (after one selector byte) is
// sent verbatim as the whole HTTP response (status line, headers, body) by a loopback server, so
// cpp-httplib's response parsing (chunked bodies, Content-Length, Retry-After) and our
// completion-JSON parsing are both exercised through the real client code path.
#include "../tests/faults/raw_reply_server.hpp"
#include "fuzz_support.hpp"
#include "backend/openai_backend.hpp"

namespace {

qk::test::RawReplyServer& server() { return qk::test::RawReplyServer::shared(); }

std::unique_ptr<qk::backend::Backend> make_client(qk::backend::ApiKind api) {
  qk::backend::OpenAiOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(server().port());
  options.model = "fuzz";
  options.api = api;
  options.retries = 0;  // one request per input: retries would only resend the same reply after a sleep
  options.connect_timeout_s = 2;
  options.read_timeout_s = 2;
  return qk::backend::make_openai_backend(options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto completions = make_client(qk::backend::ApiKind::Completions);
  static const auto chat = make_client(qk::backend::ApiKind::Chat);
  if (size == 0) return 0;
  server().set_reply(std::string(qk::fuzz::as_text(data + 1, size - 1)));
  auto& client = data[0] & 1 ? *chat : *completions;
  qk::fuzz::expect_only_qk_errors([&] {
    auto replies = client.generate({qk::backend::Prompt{"The needle is", " ", 8}});
    if (replies.size() != 1) __builtin_trap();
  });
  return 0;
}
