// The pattern of the Split pre-tokenizer and of the Replace normalizer and decoder: a literal string
// ({"String": "..."}) or a regex ({"Regex": "..."}), found left to right without overlap.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/function_ref.hpp"
#include "tokenizer/regex.hpp"

namespace qk::tok {

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
