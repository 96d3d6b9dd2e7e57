// One self-contained HTML page comparing runs (e.g. base, SFT, restore, QK-Pro): a table of scores per
// task and length with their 95% intervals, one column per run; an exact paired test of every run
// against the reference run over the samples they share; and each run's length x depth heatmap.
// Inline SVG, no scripts. `qkrestore report` puts the same section beside the reasoning results.
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

// The page around a body: title, the shared stylesheet.
std::string html_page(const std::string& title, const std::string& body);

// Tables, paired tests against runs[reference], heatmaps: a fragment for html_page.
std::string render_niah_section(const std::vector<NamedRun>& runs, std::size_t reference = 0);

std::string render_report_html(const std::vector<NamedRun>& runs, const std::string& title);

}  // namespace qk::niah
