#include "niah/heatmap_svg.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace qk::niah {

std::string format_length(int tokens) {
  if (tokens >= 1024 * 1024 && tokens % (1024 * 1024) == 0) return fmt::format("{}M", tokens / (1024 * 1024));
  if (tokens >= 1024 && tokens % 1024 == 0) return fmt::format("{}K", tokens / 1024);
  return std::to_string(tokens);
}

// Linear blend red (0) -> yellow (50) -> green (100), the gkamradt colour scale.
std::string score_color(double score) {
  const double t = std::clamp(score / 100.0, 0.0, 1.0);
  struct Rgb { double r, g, b; };
  constexpr Rgb red{0xd7, 0x30, 0x27}, yellow{0xfe, 0xe0, 0x8b}, green{0x1a, 0x98, 0x50};
  const Rgb& a = t < 0.5 ? red : yellow;
  const Rgb& b = t < 0.5 ? yellow : green;
  const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
  auto mix = [u](double x, double y) { return static_cast<int>(std::lround(x + (y - x) * u)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b));
}

std::string render_heatmap_svg(const Summary& s, const std::string& task, const std::string& title) {
  constexpr int kCell = 44, kLeft = 64, kTop = 40, kBottom = 52, kLegend = 70;
  const int columns = static_cast<int>(s.lengths.size()), rows = static_cast<int>(s.depths.size());
  const int width = kLeft + std::max(columns, 1) * kCell + kLegend, height = kTop + std::max(rows, 1) * kCell + kBottom;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      width, height, width, height, xml_escape(title), kLeft, xml_escape(title));
  for (int r = 0; r < rows; ++r) {
    const double depth = s.depths[static_cast<std::size_t>(r)];
    const int y = kTop + r * kCell;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{:g}%</text>\n", kLeft - 6,
                       y + kCell / 2, depth);
    for (int c = 0; c < columns; ++c) {
      const int length = s.lengths[static_cast<std::size_t>(c)];
      const Cell* cell = nullptr;
      if (task.empty()) {
        auto it = s.by_length_depth.find({length, depth});
        if (it != s.by_length_depth.end()) cell = &it->second;
      } else {
        auto it = s.by_task_length_depth.find({task, length, depth});
        if (it != s.by_task_length_depth.end()) cell = &it->second;
      }
      const int x = kLeft + c * kCell;
      if (!cell || cell->samples == 0) {
        svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#dddddd\" stroke=\"white\"/>\n", x, y,
                           kCell, kCell);
        continue;
      }
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"white\"><title>length {} depth {:g}%: "
          "{:.1f} ({} samples)</title></rect>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" dominant-baseline=\"middle\">"
          "{:.0f}</text>\n",
          x, y, kCell, kCell, score_color(cell->score()), length, depth, cell->score(), cell->samples, x + kCell / 2,
          y + kCell / 2, cell->score());
    }
  }
  const int axis_y = kTop + std::max(rows, 1) * kCell;
  for (int c = 0; c < columns; ++c)
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + c * kCell + kCell / 2,
                       axis_y + 16, format_length(s.lengths[static_cast<std::size_t>(c)]));
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">context length (tokens)</text>\n",
                     kLeft + std::max(columns, 1) * kCell / 2, axis_y + 36);
  svg += fmt::format("<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">needle depth</text>\n",
                     kTop + std::max(rows, 1) * kCell / 2, kTop + std::max(rows, 1) * kCell / 2);
  // Legend: 0 at the bottom, 100 at the top.
  const int legend_x = kLeft + std::max(columns, 1) * kCell + 20, legend_h = std::max(rows, 1) * kCell;
  for (int i = 0; i < 20; ++i)
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{:.2f}\" fill=\"{}\"/>\n", legend_x,
                       kTop + legend_h * i / 20.0, legend_h / 20.0 + 0.5, score_color(100.0 - 100.0 * (i + 0.5) / 20.0));
  svg += fmt::format("<text x=\"{}\" y=\"{}\">100</text>\n<text x=\"{}\" y=\"{}\">0</text>\n", legend_x + 18, kTop + 8,
                     legend_x + 18, kTop + legend_h);
  svg += "</svg>\n";
  return svg;
}

}  // namespace qk::niah
