// `qkrestore report`: one page for both axes of a repair. Per run, its NIAH recall (tables, heatmaps,
// paired tests) and its reasoning accuracy (table, paired tests), and a recall-vs-reasoning scatter of
// every run that has both, with their 95% intervals as whiskers and the frontier of runs no other run
// beats on both axes.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "eval/scoring.hpp"
#include "niah/scoring.hpp"

namespace qk::eval {

struct ReportRun {
  std::string name;
  std::optional<niah::Summary> recall;
  std::optional<ReasoningSummary> reasoning;
};

// NAME=PATH specs; PATH is a summary folder of `niah score` or `eval score` (or its summary.json), or a
// folder holding niah/ and eval/ (or reasoning/) summary folders. A NAME given twice merges both.
std::vector<ReportRun> load_report_runs(const std::vector<std::string>& specs);

// Recall of a run on the scatter: every NIAH sample pooled, as a percent with its Wilson interval.
struct AxisPoint {
  double value = 0;  // percent
  Interval interval;
};
AxisPoint recall_point(const niah::Summary& summary);
AxisPoint reasoning_point(const ReasoningSummary& summary);

// The scatter as standalone SVG (x: reasoning, y: recall, both 0-100 %).
std::string render_frontier_svg(const std::vector<ReportRun>& runs, const std::string& title);

std::string render_report(const std::vector<ReportRun>& runs, const std::string& title, const std::string& reference);

}  // namespace qk::eval
