#include "locate/grid.hpp"

#include <charconv>

#include "util/error.hpp"

namespace qk::locate {

std::string LayerRange::text() const {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

std::vector<LayerRange> quarter_ranges(int layers) {
  if (layers <= 0) fail(ErrorKind::Usage, "locate: a model without layers has no ranges to group");
  const int parts = std::min(layers, 4);
  std::vector<LayerRange> ranges;
  for (int q = 0, first = 0; q < parts; ++q) {
    const int size = layers / parts + (q < layers % parts ? 1 : 0);  // the first ranges take the remainder
    ranges.push_back({first, first + size - 1});
    first += size;
  }
  return ranges;
}

std::vector<LayerRange> parse_ranges(std::string_view text, int layers) {
  auto number = [&](std::string_view token, std::string_view whole) {
    int value = -1;
    const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (token.empty() || error != std::errc() || end != token.data() + token.size())
      fail(ErrorKind::Usage, "--groups: '{}' is not a layer or range (e.g. 0-3,4-7)", whole);
    return value;
  };
  std::vector<LayerRange> ranges;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string_view token = text.substr(start, end - start);
    const std::size_t dash = token.find('-');
    LayerRange r;
    r.first = number(token.substr(0, dash), token);
    r.last = dash == std::string_view::npos ? r.first : number(token.substr(dash + 1), token);
    if (r.first > r.last || r.last >= layers)
      fail(ErrorKind::Usage, "--groups: '{}' is not a range of layers 0-{}", token, layers - 1);
    if (!ranges.empty() && r.first <= ranges.back().last)
      fail(ErrorKind::Usage, "--groups: '{}' overlaps or precedes '{}' (ranges ascending and disjoint)", token, ranges.back().text());
    ranges.push_back(r);
    start = end + 1;
  }
  return ranges;
}

std::pair<LayerRange, LayerRange> halves(const LayerRange& range) {
  if (range.size() < 2) fail(ErrorKind::Usage, "locate: layer {} cannot be split", range.first);
  const int split = range.first + (range.size() + 1) / 2;
  return {{range.first, split - 1}, {split, range.last}};
}

const char* view_name(View view) { return view == View::Forward ? "forward" : "reverse"; }

std::string Site::unit() const { return layers ? tensor_class + "@" + layers->text() : tensor_class; }

}  // namespace qk::locate
