#include "tokenizer/split.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace qk::tok {

SplitBehavior parse_split_behavior(std::string_view name, const std::string& where) {
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  fail(ErrorKind::Unsupported, "{}: split behavior '{}' is not supported", where, name);
}

std::vector<ByteRange> split_ranges(std::size_t length, const std::vector<ByteRange>& matches, bool invert,
                                    SplitBehavior behavior) {
  struct Part {
    ByteRange range;
    bool is_match;
  };
  // The whole string as alternating gaps and matches (tokenizers' Pattern::find_matches).
  std::vector<Part> parts;
  parts.reserve(matches.size() * 2 + 1);
  std::size_t previous = 0;
  for (const ByteRange& m : matches) {
    if (previous != m.first) parts.push_back({{previous, m.first}, invert});
    parts.push_back({m, !invert});
    previous = m.second;
  }
  if (previous != length || parts.empty()) parts.push_back({{previous, length}, invert});

  std::vector<ByteRange> pieces;
  pieces.reserve(parts.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Part& p : parts)
        if (!p.is_match) pieces.push_back(p.range);
      break;
    case SplitBehavior::Isolated:
      for (const Part& p : parts) pieces.push_back(p.range);
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Part& p : parts) {
        if (p.is_match && !previous_match && !pieces.empty()) pieces.back().second = p.range.second;
        else pieces.push_back(p.range);
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      // Walk backwards so that a match joins the piece after it.
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) pieces.back().first = it->range.first;
        else pieces.push_back(it->range);
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    case SplitBehavior::Contiguous:
      for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0 && parts[i].is_match == previous_match) pieces.back().second = parts[i].range.second;
        else pieces.push_back(parts[i].range);
        previous_match = parts[i].is_match;
      }
      break;
  }
  std::erase_if(pieces, [](const ByteRange& r) { return r.first >= r.second; });
  return pieces;
}

}  // namespace qk::tok
