#include "server/api_key.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "server/openai_request.hpp"

namespace qk::server {

void check_api_key(const std::string& authorization, const std::string& required) {
  if (required.empty()) return;
  constexpr std::string_view scheme = "bearer ";
  const bool bearer = authorization.size() > scheme.size() &&
                      std::equal(scheme.begin(), scheme.end(), authorization.begin(),
                                 [](char s, char a) { return s == std::tolower(static_cast<unsigned char>(a)); });
  if (!bearer)
    throw HttpError(401, "You didn't provide an API key: send it as 'Authorization: Bearer <key>' (serve --api-key)",
                    "invalid_request_error", "", "invalid_api_key");
  const std::string_view given = std::string_view(authorization).substr(scheme.size());
  // CRYPTO_memcmp takes as long whatever bytes differ; only the length can tell a guess apart.
  if (given.size() != required.size() || CRYPTO_memcmp(given.data(), required.data(), required.size()) != 0)
    throw HttpError(401, "Incorrect API key provided", "invalid_request_error", "", "invalid_api_key");
}

}  // namespace qk::server
