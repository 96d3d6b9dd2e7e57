// The regexes of tokenizer.json (written for Oniguruma) run with PCRE2: UTF + UCP mode, JIT-compiled
// where the platform allows. Match iteration follows the onig crate's find_iter, which `tokenizers` uses.
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/function_ref.hpp"

namespace qk::tok {

using ByteRange = std::pair<std::size_t, std::size_t>;  // [first, second) byte offsets

class Regex {
 public:
  // `where` names the file and field for error messages. The split regexes of GPT-2, Qwen2 and Llama-3
  // run on hand-written matchers (fast_split.hpp) unless `allow_fast_path` is false.
  Regex(std::string_view onig_pattern, const std::string& where, bool allow_fast_path = true);

  // Appends the non-overlapping matches in `text` (valid UTF-8), leftmost first. An empty match right
  // where the previous match ended is skipped, as in the onig crate.
  void find_all(std::string_view text, std::vector<ByteRange>& matches) const;
  // The same matches, handed to `on_match` one by one as they are found.
  void for_each_match(std::string_view text, FunctionRef<void(ByteRange)> on_match) const;

  // Oniguruma's \s also matches U+0085 (NEL), PCRE2's does not: rewrite \s and \S to include it.
  static std::string translate_onig(std::string_view onig_pattern);

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
  int fast_path_ = 0;  // a FastSplit value; 0 means PCRE2
};

// The pattern of the Split pre-tokenizer and of the Replace normalizer and decoder: a literal string
// ({"String": "..."}) or a regex ({"Regex": "..."}), found left to right without overlap.
class Pattern {
 public:
  // Reads config["pattern"].
  static Pattern from_json(const nlohmann::json& config, const std::string& where);
  void find_all(std::string_view text, std::vector<ByteRange>& matches) const;
  void for_each_match(std::string_view text, FunctionRef<void(ByteRange)> on_match) const;
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::optional<Regex> regex_;
};

}  // namespace qk::tok
