#include "surgery/head_selection.hpp"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"

namespace qk {
namespace {

constexpr const char* kGrammar = "expected LAYER:GROUP, LAYER:FIRST-LAST, LAYER:* or LAYER:qHEAD, joined by commas (e.g. 3:0,7:*,11:q5)";

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// A non-negative decimal integer filling all of `text`, or -1.
int parse_index(std::string_view text) {
  int value = -1;
  if (text.empty()) return -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return -1;
  return value;
}

}  // namespace

HeadSpec HeadSpec::parse(const std::string& text) {
  HeadSpec spec;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string token = trim(text.substr(start, comma - start));
    start = comma + 1;
    auto bad = [&](std::string_view why) {
      fail(ErrorKind::Usage, "--heads '{}': token '{}' {}; {}", text, token, why, kGrammar);
    };
    if (token.empty()) bad("is empty");
    const std::size_t colon = token.find(':');
    if (colon == std::string::npos) bad("has no ':' between layer and heads");
    const int layer = parse_index(token.substr(0, colon));
    if (layer < 0) bad(fmt::format("does not start with a layer index ('{}')", token.substr(0, colon)));
    if (const std::string why = parse_layer_heads(token.substr(colon + 1), spec.layers[layer]); !why.empty()) bad(why);
    if (comma == text.size()) break;
  }
  if (spec.layers.empty()) fail(ErrorKind::Usage, "--heads '{}' selects nothing; {}", text, kGrammar);
  return spec;
}

std::string parse_layer_heads(std::string_view heads, LayerHeadRequest& request) {
  if (heads == "*") {
    request.all_groups = true;
  } else if (!heads.empty() && (heads[0] == 'q' || heads[0] == 'Q')) {
    const int h = parse_index(heads.substr(1));
    if (h < 0) return fmt::format("'{}' is not a query head like q5", heads);
    request.query_heads.insert(h);
  } else if (const std::size_t dash = heads.find('-'); dash != std::string_view::npos) {
    const int first = parse_index(heads.substr(0, dash)), last = parse_index(heads.substr(dash + 1));
    if (first < 0 || last < 0) return fmt::format("'{}' is not a KV group range like 0-1", heads);
    if (last < first) return fmt::format("range '{}' ends before it starts", heads);
    for (int g = first; g <= last; ++g) request.kv_groups.insert(g);
  } else {
    const int g = parse_index(heads);
    if (g < 0) return fmt::format("'{}' is not a KV group index, a range, * or qHEAD", heads);
    request.kv_groups.insert(g);
  }
  return "";
}

std::string layer_heads_text(const LayerHeadRequest& r) {
  std::vector<std::string> parts;
  if (r.all_groups) parts.push_back("*");
  if (!r.kv_groups.empty()) {
    const int first = *r.kv_groups.begin(), last = *r.kv_groups.rbegin();
    if (last - first + 1 == static_cast<int>(r.kv_groups.size()))
      parts.push_back(first == last ? std::to_string(first) : fmt::format("{}-{}", first, last));
    else
      for (int g : r.kv_groups) parts.push_back(std::to_string(g));
  }
  for (int h : r.query_heads) parts.push_back(fmt::format("q{}", h));
  return fmt::format("{}", fmt::join(parts, ","));
}

std::set<int> HeadSpec::layer_set() const {
  std::set<int> result;
  for (const auto& [layer, _] : layers) result.insert(layer);
  return result;
}

std::string HeadSpec::to_string() const {
  std::vector<std::string> tokens;
  for (const auto& [layer, r] : layers) {
    if (r.all_groups) tokens.push_back(fmt::format("{}:*", layer));
    for (int g : r.kv_groups) tokens.push_back(fmt::format("{}:{}", layer, g));
    for (int h : r.query_heads) tokens.push_back(fmt::format("{}:q{}", layer, h));
  }
  return fmt::format("{}", fmt::join(tokens, ","));
}

std::vector<int> query_heads_of_group(int group, long heads, long kv_heads) {
  std::vector<int> result;
  const long per_group = heads / kv_heads;
  for (long h = group * per_group; h < (group + 1) * per_group; ++h) result.push_back(static_cast<int>(h));
  return result;
}

LayerHeads resolve_layer_heads(int layer, const LayerHeadRequest& request, long heads, long kv_heads) {
  if (heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0)
    fail(ErrorKind::Unsupported, "--heads needs the head counts of layer {} from config.json (heads a multiple of kv_heads); got {} and {}",
         layer, heads, kv_heads);
  auto counts = [&] {
    return fmt::format("layer {} has {} KV groups (0-{}) and {} query heads (q0-q{})", layer, kv_heads, kv_heads - 1, heads, heads - 1);
  };
  std::set<int> groups = request.kv_groups;
  if (request.all_groups)
    for (int g = 0; g < kv_heads; ++g) groups.insert(g);
  for (int g : groups)
    if (g >= kv_heads) fail(ErrorKind::Usage, "--heads {}:{}: KV group {} is out of range: {}", layer, g, g, counts());
  for (int h : request.query_heads)
    if (h >= heads) fail(ErrorKind::Usage, "--heads {}:q{}: query head {} is out of range: {}", layer, h, h, counts());
  LayerHeads result;
  result.kv_groups.assign(groups.begin(), groups.end());
  result.key_heads = result.kv_groups;
  std::set<int> queries = request.query_heads;
  for (int g : groups)
    for (int h : query_heads_of_group(g, heads, kv_heads)) queries.insert(h);
  result.query_heads.assign(queries.begin(), queries.end());
  for (int h : request.query_heads)
    if (!groups.count(static_cast<int>(h / (heads / kv_heads)))) result.whole_groups_only = false;
  return result;
}

}  // namespace qk
