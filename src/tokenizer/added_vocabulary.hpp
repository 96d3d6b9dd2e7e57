// Added tokens (tokenizer.json "added_tokens"): special tokens such as <|im_start|> or <s> and user
// tokens, found in the text before the model runs. Matching follows tokenizers' AddedVocabulary:
// leftmost-longest, non-overlapping; single_word, lstrip and rstrip checked per match; tokens with
// normalized=false match the raw text, the others match the normalized text.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/regex.hpp"

namespace qk::tok {

class Normalizer;

struct AddedToken {
  std::int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A part of the text: an added token (id >= 0) or a stretch between tokens (id < 0).
struct TextSegment {
  ByteRange range;
  std::int32_t id = -1;
};

// Leftmost-longest search over a fixed set of strings (the role of aho-corasick's LeftmostLongest).
class LongestMatchSet {
 public:
  void add(std::string pattern, std::size_t value);
  struct Match {
    ByteRange range;
    std::size_t value;
  };
  // Non-overlapping matches: at the leftmost position where any pattern matches, the longest one.
  std::vector<Match> find_all(std::string_view text) const;
  bool empty() const { return count_ == 0; }

 private:
  // Patterns bucketed by first byte, longest first; the bitmap makes most text bytes a single test.
  std::array<std::vector<std::pair<std::string, std::size_t>>, 256> by_first_byte_;
  std::array<bool, 256> is_first_byte_{};
  std::size_t count_ = 0;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `normalizer` (may be null) turns normalized tokens into the form they match in normalized text.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);
  static std::vector<AddedToken> parse(const nlohmann::json& added_tokens, const std::string& where);

  // Splits `text` (raw when `normalized_text` is false) into token and non-token segments covering it.
  std::vector<TextSegment> split(std::string_view text, bool normalized_text) const;

  const AddedToken* by_id(std::int32_t id) const;
  const AddedToken* by_content(std::string_view content) const;
  bool is_special(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<std::int32_t, std::size_t> index_by_id_;
  std::unordered_map<std::string, std::size_t> index_by_content_;
  LongestMatchSet raw_matcher_;         // normalized = false
  LongestMatchSet normalized_matcher_;  // normalized = true, matched in their normalized form
};

}  // namespace qk::tok
