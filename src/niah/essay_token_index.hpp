// Token counts of essay stretches without tokenizing them: each distinct word is tokenized once with
// its leading space (" word") and the count of any run of words is a difference of prefix sums. With
// byte-level BPE and SentencePiece vocabularies a space starts a new pre-token, so the sum equals the
// count of the joined text; `additive()` says whether that held for the whole text, checked once by
// tokenizing it in full.
#pragma once
#include <cstdint>
#include <vector>

#include "niah/essay_haystack.hpp"
#include "niah/token_counter.hpp"

namespace qk::niah {

class EssayTokenIndex {
 public:
  EssayTokenIndex(const EssayHaystack& essay, const TokenCounter& counter);

  // Tokens of words [first, last) of the repeated text, each word with its leading space.
  std::uint64_t spaced_tokens(std::size_t first, std::size_t last) const { return prefix(last) - prefix(first); }
  // Tokens of words [0, n) joined by spaces (the first word without one).
  std::uint64_t tokens_of_first(std::size_t n) const;
  bool additive() const { return additive_; }

 private:
  std::uint64_t prefix(std::size_t n) const;  // spaced tokens of words [0, n)

  std::vector<std::uint64_t> prefix_;  // one pass over the text
  std::uint64_t pass_total_ = 0;
  std::int64_t first_word_correction_ = 0;  // count("w0") - count(" w0")
  bool additive_ = false;
};

}  // namespace qk::niah
