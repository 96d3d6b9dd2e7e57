// Turns the tokens of one sequence, as they are generated, into text that can be sent at once: never
// the first bytes of a character whose last bytes have not come yet, never the start of what may turn
// out to be a stop string. Streaming and whole replies both go through it, so a streamed reply
// assembles to exactly the non-streamed one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace qk::engine_service {

struct TextPiece {
  std::string text;            // well-formed UTF-8 (ill-formed bytes become U+FFFD)
  std::size_t first_token = 0; // the tokens [first_token, end_token) are complete within the text sent so far
  std::size_t end_token = 0;
};

class TextAssembler {
 public:
  TextAssembler(const Tokenizer& tokenizer, std::vector<std::string> stop_strings);

  // With all tokens generated so far (one more than last time): true when a stop string has appeared
  // (generation should end; the text stops before it).
  bool update(const std::vector<std::int32_t>& tokens);
  // What can be sent now and was not sent yet. final: generation has ended, so nothing is held back.
  TextPiece take(bool final);

  bool stopped() const { return stop_at_ != std::string::npos; }
  // Tokens whose text lies entirely before the stop string (all of them when none was found).
  std::size_t kept_tokens() const;
  // The byte offset in the decoded text where token i starts (a character split across tokens belongs
  // to the token that completes it).
  std::size_t token_start(std::size_t i) const { return i == 0 ? 0 : token_end_[i - 1]; }
  const std::string& raw_text() const { return text_; }

 private:
  const Tokenizer& tokenizer_;
  std::vector<std::string> stops_;
  std::string text_;                    // decode of all tokens so far
  std::vector<std::size_t> token_end_;  // byte offset in text_ where each token's text ends
  std::size_t stop_at_ = std::string::npos;
  std::size_t sent_bytes_ = 0;
  std::size_t sent_tokens_ = 0;
};

}  // namespace qk::engine_service
