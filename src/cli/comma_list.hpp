// "a,b,,c" -> {"a", "b", "", "c"}: the items of a comma-separated option value, empty ones kept (the
// caller says whether an empty item is an error); "" is one empty item.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace qk::cli {

inline std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    items.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

}  // namespace qk::cli
