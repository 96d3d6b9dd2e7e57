// The one escaper for text put into HTML and SVG (reports, heatmaps): safe in element content and in
// quoted attribute values.
#pragma once
#include <string>
#include <string_view>

namespace qk {

inline std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace qk
