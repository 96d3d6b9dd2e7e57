#include "niah/report_html.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "niah/heatmap_svg.hpp"

namespace qk::niah {

namespace {

std::string score_cell(const Summary& s, const std::string& task, int length) {
  double score = 0;
  if (task.empty()) {
    bool any = false;
    for (const auto& t : s.tasks) any |= s.by_task_length.count({t, length}) > 0;
    if (!any) return "<td class=\"missing\">&ndash;</td>";
    score = s.average(length);
  } else {
    auto it = s.by_task_length.find({task, length});
    if (it == s.by_task_length.end()) return "<td class=\"missing\">&ndash;</td>";
    score = it->second.score();
  }
  return fmt::format("<td style=\"background:{}\">{:.1f}</td>", score_color(score), score);
}

}  // namespace

std::string render_report_html(const std::vector<NamedRun>& runs, const std::string& title) {
  std::vector<std::string> tasks;
  std::set<int> length_set;
  for (const auto& run : runs) {
    for (const auto& task : run.summary.tasks)
      if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) tasks.push_back(task);
    length_set.insert(run.summary.lengths.begin(), run.summary.lengths.end());
  }
  const std::vector<int> lengths(length_set.begin(), length_set.end());

  std::string html = fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0 28px; }}
th, td {{ border: 1px solid #bbb; padding: 4px 10px; text-align: right; }}
th {{ background: #f2f2f2; }} td.name, th.name {{ text-align: left; }}
td.missing {{ color: #999; text-align: center; }}
.heatmaps {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure {{ margin: 0; }} figcaption {{ font-weight: bold; margin-bottom: 4px; }}
</style></head><body>
<h1>{0}</h1>
<p>Metric: RULER string_match_all, the percent of expected values found in each answer, averaged over samples.
Runs: {1}.</p>
)",
                                 xml_escape(title), runs.size());

  html += "<h2>Scores by task and length</h2>\n<table>\n<tr><th class=\"name\">task</th><th class=\"name\">length</th>";
  for (const auto& run : runs) html += "<th>" + xml_escape(run.name) + "</th>";
  html += "</tr>\n";
  std::vector<std::string> rows = tasks;
  rows.push_back("");  // the average over tasks
  for (const auto& task : rows)
    for (int length : lengths) {
      html += fmt::format("<tr><td class=\"name\">{}</td><td class=\"name\">{}</td>",
                          task.empty() ? "<b>average</b>" : xml_escape(task), format_length(length));
      for (const auto& run : runs) html += score_cell(run.summary, task, length);
      html += "</tr>\n";
    }
  html += "</table>\n<h2>Recall by length and needle depth (all tasks)</h2>\n<div class=\"heatmaps\">\n";
  for (const auto& run : runs)
    html += "<figure><figcaption>" + xml_escape(run.name) + "</figcaption>\n" +
            render_heatmap_svg(run.summary, "", run.name) + "</figure>\n";
  html += "</div>\n</body></html>\n";
  return html;
}

}  // namespace qk::niah
