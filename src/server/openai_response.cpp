#include "server/openai_response.hpp"

#include "util/utf8.hpp"

namespace qk::server {
namespace {

// A token's own text: special tokens as written, a byte-level token that is part of a character as
// U+FFFD (its exact bytes are in "bytes").
std::string raw_token_text(const Tokenizer& tokenizer, std::int32_t id) {
  const std::int32_t one[1] = {id};
  return tokenizer.decode(one, /*skip_special_tokens=*/false);
}

nlohmann::json bytes_json(const std::string& raw) {
  auto out = nlohmann::json::array();
  for (unsigned char c : raw) out.push_back(static_cast<int>(c));
  return out;
}

}  // namespace

nlohmann::json completion_logprobs(const Tokenizer& tokenizer, const TokenRun& run, std::size_t offset_shift) {
  nlohmann::json tokens = nlohmann::json::array(), token_logprobs = nlohmann::json::array(),
                 top = nlohmann::json::array(), offsets = nlohmann::json::array();
  for (std::size_t i = 0; i < run.tokens.size(); ++i) {
    tokens.push_back(utf8_lossy(raw_token_text(tokenizer, run.tokens[i])));
    token_logprobs.push_back(run.logprobs[i].logprob);
    // OpenAI: the k most likely tokens, and always the sampled one (so up to k + 1 entries).
    nlohmann::json alternatives = nlohmann::json::object();
    for (const auto& [id, lp] : run.logprobs[i].top) alternatives[utf8_lossy(raw_token_text(tokenizer, id))] = lp;
    alternatives[tokens.back().get<std::string>()] = run.logprobs[i].logprob;
    top.push_back(std::move(alternatives));
    offsets.push_back(run.offsets[i] + offset_shift);
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
}

nlohmann::json chat_logprobs(const Tokenizer& tokenizer, const TokenRun& run) {
  nlohmann::json content = nlohmann::json::array();
  for (std::size_t i = 0; i < run.tokens.size(); ++i) {
    const std::string raw = raw_token_text(tokenizer, run.tokens[i]);
    nlohmann::json top = nlohmann::json::array();
    for (const auto& [id, lp] : run.logprobs[i].top) {
      const std::string alt = raw_token_text(tokenizer, id);
      top.push_back({{"token", utf8_lossy(alt)}, {"logprob", lp}, {"bytes", bytes_json(alt)}});
    }
    content.push_back({{"token", utf8_lossy(raw)},
                       {"logprob", run.logprobs[i].logprob},
                       {"bytes", bytes_json(raw)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

nlohmann::json usage_json(std::size_t prompt_tokens, std::size_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

std::string dump_json(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace qk::server
