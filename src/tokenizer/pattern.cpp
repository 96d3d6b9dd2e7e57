#include "tokenizer/pattern.hpp"

#include <nlohmann/json.hpp>

#include "util/json.hpp"
#include "util/error.hpp"

namespace qk::tok {

Pattern Pattern::from_json(const nlohmann::json& config, const std::string& where) {
  const auto& pattern = object_field(config, "pattern", where);
  Pattern result;
  if (pattern.contains("String")) {
    result.literal_ = string_field(pattern, "String", where + " pattern");
  } else if (pattern.contains("Regex")) {
    result.regex_.emplace(string_field(pattern, "Regex", where + " pattern"), where + " pattern");
  } else {
    fail(ErrorKind::Format, "{}: pattern must hold \"String\" or \"Regex\"", where);
  }
  return result;
}

void Pattern::find_all(std::string_view text, std::vector<ByteRange>& matches) const {
  for_each_match(text, [&](ByteRange m) { matches.push_back(m); });
}

void Pattern::for_each_match(std::string_view text, FunctionRef<void(ByteRange)> on_match) const {
  if (regex_) {
    regex_->for_each_match(text, on_match);
    return;
  }
  if (literal_.empty()) return;
  for (std::size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
    on_match({at, at + literal_.size()});
}

std::string Pattern::replace_all(std::string_view text, std::string_view content) const {
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
