// Typed access to tokenizer.json fields; every failure names the file and the field.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/regex.hpp"

namespace qk::tok {

std::string string_field(const nlohmann::json& object, const char* key, const std::string& where);
std::optional<std::string> optional_string_field(const nlohmann::json& object, const char* key,
                                                 const std::string& where);
bool bool_field(const nlohmann::json& object, const char* key, const std::string& where, bool fallback);
std::int64_t int_field(const nlohmann::json& object, const char* key, const std::string& where);
const nlohmann::json& array_field(const nlohmann::json& object, const char* key, const std::string& where);
const nlohmann::json& object_field(const nlohmann::json& object, const char* key, const std::string& where);

// The {"String": "..."} or {"Regex": "..."} pattern of Split, Replace (normalizer and decoder).
class ReplacePattern {
 public:
  // Reads config["pattern"].
  static ReplacePattern from_json(const nlohmann::json& config, const std::string& where);
  void find_all(std::string_view text, std::vector<ByteRange>& matches) const;
  void for_each_match(std::string_view text, FunctionRef<void(ByteRange)> on_match) const;
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::optional<Regex> regex_;
};

}  // namespace qk::tok
