// The essay haystack: prose split into words on whitespace (RULER: re.sub(r'\s+', ' ', text).split(' ')),
// repeated when a sample needs more words than the text has, and divided into sentences so that needles
// go between sentences. RULER splits sentences with NLTK's punkt; this file uses a rule of the same
// spirit (see ends_sentence) so that no Python is needed. EssayTokenIndex counts the tokens of its stretches.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "niah/token_counter.hpp"

namespace qk::niah {

class EssayHaystack {
 public:
  // A .json file is RULER's PaulGrahamEssays.json ({"text": ...}); anything else is plain UTF-8 text.
  static EssayHaystack load(const std::filesystem::path& path);
  static EssayHaystack from_text(std::string_view text, std::string source = "text");

  const std::string& source() const { return source_; }
  std::size_t size() const { return words_.size(); }  // words in one pass over the text
  const std::string& word(std::size_t i) const { return words_[i % words_.size()]; }  // wraps around

  // Sentences of the text made of the first n words (n >= 1): the last word always closes one.
  std::size_t sentence_count(std::size_t n) const;
  // Index of the first word of sentence s (0 <= s <= sentence_count(n)); s == count gives n.
  std::size_t sentence_start(std::size_t s, std::size_t n) const;

 private:
  EssayHaystack(std::vector<std::string> words, std::string source);
  std::size_t ends_before(std::size_t i) const;  // sentence ends among words [0, i)

  std::vector<std::string> words_;
  std::vector<std::size_t> end_positions_;  // word indices (one pass) that end a sentence, ascending
  std::string source_;
};

// True when `word` ends a sentence and `next` starts one: it ends in . ! or ? (optionally followed by
// closing quotes or brackets), is no common abbreviation or single initial, and `next` does not start
// with a lowercase letter.
bool ends_sentence(std::string_view word, std::string_view next);

// Token counts of essay stretches without tokenizing them: each distinct word is tokenized once with
// its leading space (" word") and the count of any run of words is a difference of prefix sums. With
// byte-level BPE and SentencePiece vocabularies a space starts a new pre-token, so the sum equals the
// count of the joined text; `additive()` says whether that held for the whole text, checked once by
// tokenizing it in full.
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
