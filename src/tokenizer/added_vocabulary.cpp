#include "tokenizer/added_vocabulary.hpp"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "util/json.hpp"
#include "tokenizer/normalizers.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

namespace qk::tok {

void LongestMatchSet::add(std::string pattern, std::size_t value) {
  if (pattern.empty()) return;
  auto first = static_cast<unsigned char>(pattern[0]);
  auto& bucket = by_first_byte_[first];
  bucket.emplace_back(std::move(pattern), value);
  std::stable_sort(bucket.begin(), bucket.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  is_first_byte_[first] = true;
  ++count_;
}

std::vector<LongestMatchSet::Match> LongestMatchSet::find_all(std::string_view text) const {
  std::vector<Match> matches;
  if (count_ == 0) return matches;
  for (std::size_t pos = 0; pos < text.size();) {
    auto first = static_cast<unsigned char>(text[pos]);
    bool found = false;
    if (is_first_byte_[first]) {
      for (const auto& [pattern, value] : by_first_byte_[first]) {
        if (pattern.size() <= text.size() - pos && std::memcmp(text.data() + pos, pattern.data(), pattern.size()) == 0) {
          matches.push_back({{pos, pos + pattern.size()}, value});
          pos += pattern.size();
          found = true;
          break;
        }
      }
    }
    if (!found) ++pos;
  }
  return matches;
}

std::vector<AddedToken> AddedVocabulary::parse(const nlohmann::json& added_tokens, const std::string& where) {
  std::vector<AddedToken> tokens;
  if (added_tokens.is_null()) return tokens;
  if (!added_tokens.is_array()) fail(ErrorKind::Format, "{}: added_tokens must be an array", where);
  for (std::size_t i = 0; i < added_tokens.size(); ++i) {
    const auto& t = added_tokens[i];
    std::string here = fmt::format("{} added_tokens[{}]", where, i);
    AddedToken token;
    token.id = field<std::int32_t>(t, "id", here);
    token.content = string_field(t, "content", here);
    token.single_word = bool_field(t, "single_word", here, false);
    token.lstrip = bool_field(t, "lstrip", here, false);
    token.rstrip = bool_field(t, "rstrip", here, false);
    token.special = bool_field(t, "special", here, false);
    token.normalized = bool_field(t, "normalized", here, !token.special);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (t.content.empty()) continue;
    index_by_id_[t.id] = i;
    index_by_content_[t.content] = i;
    if (t.normalized) {
      std::string pattern = t.content;
      if (normalizer) normalizer->normalize(pattern);
      normalized_matcher_.add(std::move(pattern), i);
    } else {
      raw_matcher_.add(t.content, i);
    }
  }
}

const AddedToken* AddedVocabulary::by_id(std::int32_t id) const {
  auto it = index_by_id_.find(id);
  return it == index_by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  auto it = index_by_content_.find(std::string(content));
  return it == index_by_content_.end() ? nullptr : &tokens_[it->second];
}

bool AddedVocabulary::is_special(std::string_view content) const {
  const AddedToken* t = by_content(content);
  return t && t->special;
}

std::vector<TextSegment> AddedVocabulary::split(std::string_view text, bool normalized_text) const {
  const LongestMatchSet& matcher = normalized_text ? normalized_matcher_ : raw_matcher_;
  std::vector<TextSegment> segments;
  if (text.empty() || matcher.empty()) {
    segments.push_back({{0, text.size()}, -1});
    return segments;
  }
  std::size_t covered = 0;  // end of the last emitted segment
  for (const auto& match : matcher.find_all(text)) {
    const AddedToken& token = tokens_[match.value];
    std::size_t start = match.range.first, stop = match.range.second;
    if (token.single_word) {
      // Only whole words: no word character (regex \w) right before or after the match.
      bool word_before = start > 0 && is_regex_word_char(last_code_point(text, start));
      std::size_t after = stop;
      bool word_after = stop < text.size() && is_regex_word_char(next_code_point(text, after));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      // Swallow the whitespace before the token, but not what an earlier match already took.
      std::size_t new_start = start;
      while (new_start > 0) {
        char32_t c = last_code_point(text, new_start);
        if (!is_rust_whitespace(c)) break;
        std::string encoded;
        append_utf8(encoded, c);
        new_start -= encoded.size();
      }
      start = std::max(new_start, covered);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        std::size_t after = stop;
        if (!is_rust_whitespace(next_code_point(text, after))) break;
        stop = after;
      }
    }
    if (covered < start) segments.push_back({{covered, start}, -1});
    segments.push_back({{start, stop}, token.id});
    covered = stop;
  }
  if (covered != text.size()) segments.push_back({{covered, text.size()}, -1});
  return segments;
}

}  // namespace qk::tok
