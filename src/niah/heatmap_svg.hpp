// The classic NIAH picture (gkamradt's LLMTest_NeedleInAHaystack): one cell per length (x) and needle
// depth (y, 0% at the top), coloured red -> yellow -> green by score. Self-contained SVG, no scripts.
#pragma once
#include <string>
#include <string_view>

#include "niah/scoring.hpp"
#include "util/xml_escape.hpp"

namespace qk::niah {

// task empty: all tasks pooled. Cells without samples are left grey.
std::string render_heatmap_svg(const Summary& summary, const std::string& task, const std::string& title);

std::string score_color(double score);  // score in [0, 100] -> "#rrggbb"
std::string format_length(int tokens);  // 4096 -> "4K", 1048576 -> "1M", 1000 -> "1000"

}  // namespace qk::niah
