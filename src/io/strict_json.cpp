#include "io/strict_json.hpp"

#include <set>
#include <vector>

#include "util/error.hpp"

namespace qk {

nlohmann::json parse_json_without_duplicates(std::string_view text, const std::string& label) {
  using json = nlohmann::json;
  // One set of keys per open object, innermost last; `owners` names each object by the key holding it.
  std::vector<std::set<std::string>> keys;
  std::vector<std::string> owners;
  std::string last_key = "the top level";
  std::string duplicate, where;
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
          where = owners.back();
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
    fail(ErrorKind::Format, "{} is not valid JSON: {}", label, e.what());
  }
  if (!duplicate.empty()) fail(ErrorKind::Format, "{}: key '{}' appears twice in {}", label, duplicate, where);
  return result;
}

}  // namespace qk
