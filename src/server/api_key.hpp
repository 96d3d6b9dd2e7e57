// The API key `serve --api-key` (or QKRESTORE_API_KEY) asks of clients, as OpenAI's API, vLLM and
// llama.cpp's server do: "Authorization: Bearer <key>" on every route but /health.
#pragma once
#include <string>

namespace qk::server {

// Nothing when `required` is empty or `authorization` is "Bearer <required>" (the scheme in any case;
// the key compared in constant time); otherwise HttpError 401 (invalid_request_error, invalid_api_key).
void check_api_key(const std::string& authorization, const std::string& required);

}  // namespace qk::server
