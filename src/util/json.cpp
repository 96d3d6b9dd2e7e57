#include "util/json.hpp"

#include <charconv>
#include <climits>
#include <cmath>
#include <set>
#include <vector>

#include "util/files.hpp"

namespace qk {

using json = nlohmann::json;

json parse_json(std::string_view text, const std::string& where, DuplicateKeys duplicates) {
  // One set of keys per open object, innermost last; `owners` names each object by the key holding it.
  std::vector<std::set<std::string>> keys;
  std::vector<std::string> owners;
  std::string last_key = "the top level";
  std::string duplicate, owner;
  json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        owners.push_back(keys.size() == 1 ? "the top-level object" : "'" + last_key + "'");
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        owners.pop_back();
        break;
      case json::parse_event_t::key:
        last_key = parsed.get<std::string>();
        if (!keys.back().insert(last_key).second && duplicate.empty()) {
          duplicate = last_key;
          owner = owners.back();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json result;
  try {
    result = json::parse(text.begin(), text.end(), check);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
    fail(ErrorKind::Format, "{} is not valid JSON: {}", where, e.what());
  }
  if (!duplicate.empty() && duplicates == DuplicateKeys::Refuse) fail(ErrorKind::Format, "{}: key '{}' appears twice in {}", where, duplicate, owner);
  return result;
}

json read_json_file(const std::filesystem::path& path) { return parse_json(read_text_file(path), path.string()); }

namespace json_detail {
void wrong_type(const json& value, const std::string& where, const char* expected) {
  fail(ErrorKind::Format, "{}: expected {}, found {}", where, expected, value.dump().substr(0, 80));
}
void out_of_range(const json& value, const std::string& where) {
  fail(ErrorKind::Format, "{}: {} is out of range", where, value.dump());
}
}  // namespace json_detail

int json_layer_index(const json& value, const std::string& where) {
  const int index = json_as<int>(value, where);
  if (index < 0) fail(ErrorKind::Format, "{}: {} is not a layer index", where, index);
  return index;
}

const json& required_field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object()) fail(ErrorKind::Format, "{}: expected an object holding '{}'", where, key);
  auto it = object.find(key);
  if (it == object.end()) fail(ErrorKind::Format, "{}: missing field '{}'", where, key);
  return *it;
}

const json& array_field(const json& object, const char* key, const std::string& where) {
  const auto& value = required_field(object, key, where);
  if (!value.is_array()) fail(ErrorKind::Format, "{}: field '{}' must be an array", where, key);
  return value;
}

const json& object_field(const json& object, const char* key, const std::string& where) {
  const auto& value = required_field(object, key, where);
  if (!value.is_object()) fail(ErrorKind::Format, "{}: field '{}' must be an object", where, key);
  return value;
}

std::int64_t parse_int(std::string_view text, const std::string& where, std::int64_t min, std::int64_t max, ErrorKind kind, int base) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  // from_chars takes a leading '-' but no '+' or white space, and never throws.
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max)
    fail(kind, "{}: '{}' is not an integer from {} to {}", where, text, min, max);
  return value;
}

double parse_number(std::string_view text, const std::string& where, ErrorKind kind) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) fail(kind, "{}: '{}' is not a number", where, text);
  return value;
}

int parse_layer_index(std::string_view text, const std::string& where, ErrorKind kind) {
  return static_cast<int>(parse_int(text, fmt::format("{} (a layer index)", where), 0, INT_MAX, kind));
}

std::optional<int> layer_index_in_name(std::string_view name, std::string_view prefix, const std::string& where) {
  if (prefix.empty() || name.size() <= prefix.size() || !name.starts_with(prefix) || name[prefix.size()] != '.') return std::nullopt;
  const std::size_t start = prefix.size() + 1;
  std::size_t end = start;
  while (end < name.size() && name[end] >= '0' && name[end] <= '9') ++end;
  if (end == start || end >= name.size() || name[end] != '.') return std::nullopt;
  return parse_layer_index(name.substr(start, end - start), fmt::format("{}: tensor '{}'", where, name));
}

}  // namespace qk
