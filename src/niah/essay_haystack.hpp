// The essay haystack: prose split into words on whitespace (RULER: re.sub(r'\s+', ' ', text).split(' ')),
// repeated when a sample needs more words than the text has, and divided into sentences so that needles
// go between sentences. RULER splits sentences with NLTK's punkt; this file uses a rule of the same
// spirit (see ends_sentence) so that no Python is needed.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

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

}  // namespace qk::niah
