// Token counts of essay prefixes without tokenizing them: each word is tokenized once with its leading
// space (" word"), and the count of the first n words is a prefix sum. With byte-level BPE and
// SentencePiece vocabularies a space starts a new pre-token, so the sum equals the count of the joined
// text; the generator still verifies every final prompt with one real tokenization.
#pragma once
#include <cstdint>
#include <vector>

#include "niah/essay_haystack.hpp"
#include "niah/token_counter.hpp"

namespace qk::niah {

class EssayTokenIndex {
 public:
  EssayTokenIndex(const EssayHaystack& essay, const TokenCounter& counter);
  std::uint64_t tokens_of_first(std::size_t n) const;  // estimated tokens of words [0, n) joined by spaces
  double tokens_per_word() const { return static_cast<double>(pass_total_) / static_cast<double>(prefix_.size() - 1); }

 private:
  std::vector<std::uint64_t> prefix_;  // prefix_[i]: tokens of " w0 w1 ... w(i-1)" (every word with its space)
  std::uint64_t pass_total_ = 0;
  std::int64_t first_word_correction_ = 0;  // count("w0") - count(" w0")
};

}  // namespace qk::niah
