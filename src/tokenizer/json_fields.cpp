#include "tokenizer/json_fields.hpp"

#include "util/error.hpp"

namespace qk::tok {
namespace {

const nlohmann::json& required(const nlohmann::json& object, const char* key, const std::string& where) {
  if (!object.is_object()) fail(ErrorKind::Format, "{}: expected an object holding '{}'", where, key);
  auto it = object.find(key);
  if (it == object.end()) fail(ErrorKind::Format, "{}: missing field '{}'", where, key);
  return *it;
}

}  // namespace

std::string string_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_string()) fail(ErrorKind::Format, "{}: field '{}' must be a string", where, key);
  return value.get<std::string>();
}

std::optional<std::string> optional_string_field(const nlohmann::json& object, const char* key,
                                                 const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) fail(ErrorKind::Format, "{}: field '{}' must be a string or null", where, key);
  return it->get<std::string>();
}

bool bool_field(const nlohmann::json& object, const char* key, const std::string& where, bool fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(ErrorKind::Format, "{}: field '{}' must be true or false", where, key);
  return it->get<bool>();
}

std::int64_t int_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_number_integer()) fail(ErrorKind::Format, "{}: field '{}' must be an integer", where, key);
  return value.get<std::int64_t>();
}

const nlohmann::json& array_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_array()) fail(ErrorKind::Format, "{}: field '{}' must be an array", where, key);
  return value;
}

const nlohmann::json& object_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_object()) fail(ErrorKind::Format, "{}: field '{}' must be an object", where, key);
  return value;
}

ReplacePattern ReplacePattern::from_json(const nlohmann::json& config, const std::string& where) {
  const auto& pattern = object_field(config, "pattern", where);
  ReplacePattern result;
  if (pattern.contains("String")) {
    result.literal_ = string_field(pattern, "String", where + " pattern");
  } else if (pattern.contains("Regex")) {
    result.regex_.emplace(string_field(pattern, "Regex", where + " pattern"), where + " pattern");
  } else {
    fail(ErrorKind::Format, "{}: pattern must hold \"String\" or \"Regex\"", where);
  }
  return result;
}

void ReplacePattern::find_all(std::string_view text, std::vector<ByteRange>& matches) const {
  for_each_match(text, [&](ByteRange m) { matches.push_back(m); });
}

void ReplacePattern::for_each_match(std::string_view text, FunctionRef<void(ByteRange)> on_match) const {
  if (regex_) {
    regex_->for_each_match(text, on_match);
    return;
  }
  if (literal_.empty()) return;
  for (std::size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
    on_match({at, at + literal_.size()});
}

std::string ReplacePattern::replace_all(std::string_view text, std::string_view content) const {
  std::vector<ByteRange> matches;
  find_all(text, matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size() + matches.size() * content.size());
  std::size_t previous = 0;
  for (const ByteRange& m : matches) {
    out.append(text.substr(previous, m.first - previous));
    out.append(content);
    previous = m.second;
  }
  out.append(text.substr(previous));
  return out;
}

}  // namespace qk::tok
