#include "engine_service/text_assembler.hpp"

#include <algorithm>

#include "util/utf8.hpp"

namespace qk::engine_service {

TextAssembler::TextAssembler(const Tokenizer& tokenizer, std::vector<std::string> stop_strings)
    : tokenizer_(tokenizer) {
  for (auto& s : stop_strings)
    if (!s.empty()) stops_.push_back(std::move(s));
}

bool TextAssembler::update(const std::vector<std::int32_t>& tokens) {
  // The whole text is decoded again each time: decoders may merge across tokens (byte fallback, spaces),
  // and a few thousand tokens decode in microseconds.
  text_ = tokenizer_.decode(tokens, /*skip_special_tokens=*/true);
  // A token that ends inside a character not yet complete: the character counts as the next token's.
  token_end_.resize(tokens.size());
  token_end_.back() = std::max(utf8_stable_length(text_), tokens.size() >= 2 ? token_end_[tokens.size() - 2] : 0);
  if (stopped()) return true;
  // A new stop string can only end in the new bytes; look back by the longest stop.
  std::size_t longest = 0;
  for (const auto& s : stops_) longest = std::max(longest, s.size());
  const std::size_t previous_end = tokens.size() >= 2 ? token_end_[tokens.size() - 2] : 0;
  const std::size_t from = previous_end > longest ? previous_end - longest : 0;
  for (const auto& s : stops_) {
    const std::size_t at = text_.find(s, from);
    if (at != std::string::npos) stop_at_ = std::min(stop_at_, at);
  }
  return stopped();
}

std::size_t TextAssembler::kept_tokens() const {
  if (!stopped()) return token_end_.size();
  std::size_t n = 0;
  while (n < token_end_.size() && token_end_[n] <= stop_at_) ++n;
  return n;
}

TextPiece TextAssembler::take(bool final) {
  std::size_t end = text_.size();
  if (stopped()) {
    end = stop_at_;
  } else if (!final) {
    end = utf8_stable_length(text_);
    // Hold back a tail that a stop string starts with: it may complete with the next token.
    for (const auto& s : stops_)
      for (std::size_t k = std::min(s.size() - 1, text_.size()); k > 0; --k)
        if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
          end = std::min(end, text_.size() - k);
          break;
        }
  }
  if (final && !stopped() && !token_end_.empty()) token_end_.back() = text_.size();
  TextPiece piece;
  piece.first_token = sent_tokens_;
  if (end > sent_bytes_) {
    piece.text = utf8_lossy(std::string_view(text_).substr(sent_bytes_, end - sent_bytes_));
    sent_bytes_ = end;
  }
  std::size_t covered = sent_tokens_;
  const std::size_t limit = stopped() ? kept_tokens() : token_end_.size();
  while (covered < limit && token_end_[covered] <= sent_bytes_) ++covered;
  // At the end every kept token is reported, even one whose text is empty (a special token).
  if (final || stopped()) covered = limit;
  piece.end_token = sent_tokens_ = covered;
  return piece;
}

}  // namespace qk::engine_service
