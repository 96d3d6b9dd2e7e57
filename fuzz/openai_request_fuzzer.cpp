// Fuzzes what `qkrestore serve` makes of a client's request body, the server's one input from the
// network: the body through the strict JSON entry point the server uses, then the field checks of
// both endpoints (parse_common), the completion prompt and the chat messages.
//
// The rule here is the server's: a bad request is a 4xx answer (an HttpError, or a qk::Error of kind
// Usage, which the handlers answer with 400). Anything else would reach the client as a 500
// "internal error" for its own mistake, so it is a finding.
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "server/openai_request.hpp"
#include "util/json.hpp"

namespace {

template <typename Body>
void expect_only_client_errors(Body&& body) {
  try {
    body();
  } catch (const qk::server::HttpError& e) {
    if (e.status < 400 || e.status > 499 || std::string_view(e.what()).empty()) __builtin_trap();
  } catch (const qk::Error& e) {
    if (e.kind() != qk::ErrorKind::Usage || std::string_view(e.what()).empty()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nlohmann::json body;
  try {
    body = qk::parse_json(qk::fuzz::as_text(data, size), "the request body");
  } catch (const qk::Error& e) {  // the server answers 400 with this message
    if (std::string_view(e.what()).empty()) __builtin_trap();
    return 0;
  }
  for (auto endpoint : {qk::server::Endpoint::Completions, qk::server::Endpoint::ChatCompletions})
    expect_only_client_errors([&] { qk::server::parse_common(body, endpoint, "qk", 256); });
  expect_only_client_errors([&] { qk::server::parse_completion_prompt(body); });
  expect_only_client_errors([&] { qk::server::parse_chat_request(body); });
  return 0;
}
