// One self-contained HTML page comparing runs (e.g. base, SFT, restore, QK-Pro): a table of scores per
// task and length with one column per run, and each run's length x depth heatmap, inline SVG, no scripts.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "niah/scoring.hpp"

namespace qk::niah {

struct NamedRun {
  std::string name;
  Summary summary;
};

std::string render_report_html(const std::vector<NamedRun>& runs, const std::string& title);

}  // namespace qk::niah
