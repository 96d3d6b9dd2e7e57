#include "niah/report_html.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "niah/heatmap_svg.hpp"

namespace qk::niah {

namespace {

std::string score_cell(const Summary& s, const std::string& task, int length) {
  const Cell* cell = nullptr;
  double score = 0;
  if (task.empty()) {
    auto it = s.by_length.find(length);
    if (it == s.by_length.end()) return "<td class=\"missing\">&ndash;</td>";
    cell = &it->second;
    score = s.average(length);
  } else {
    auto it = s.by_task_length.find({task, length});
    if (it == s.by_task_length.end()) return "<td class=\"missing\">&ndash;</td>";
    cell = &it->second;
    score = cell->score();
  }
  const Interval i = cell->interval();
  return fmt::format("<td style=\"background:{}\">{:.1f}<br><small>{:.0f}&ndash;{:.0f} (n={})</small></td>",
                     score_color(score), score, 100 * i.low, 100 * i.high, cell->samples);
}

std::string paired_row(const std::string& name, const std::string& reference, const std::string& scope,
                       const PairedTest& t) {
  const bool significant = t.pairs > 0 && t.significant();
  return fmt::format(
      "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3g}</td>"
      "<td class=\"name{}\">{}</td></tr>\n",
      xml_escape(name), scope, t.pairs, t.only_first, t.only_second, t.p_value, significant ? " significant" : "",
      xml_escape(describe_paired(t, name, reference)));
}

}  // namespace

std::string html_page(const std::string& title, const std::string& body) {
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0 28px; }}
th, td {{ border: 1px solid #bbb; padding: 4px 10px; text-align: right; }}
th {{ background: #f2f2f2; }} td.name, th.name {{ text-align: left; }}
td.missing {{ color: #999; text-align: center; }}
td.significant {{ font-weight: bold; }}
small {{ color: #444; }}
.heatmaps {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure {{ margin: 0; }} figcaption {{ font-weight: bold; margin-bottom: 4px; }}
</style></head><body>
<h1>{0}</h1>
{1}</body></html>
)",
                     xml_escape(title), body);
}

std::string render_niah_section(const std::vector<NamedRun>& runs, std::size_t reference) {
  std::vector<std::string> tasks;
  std::set<int> length_set;
  for (const auto& run : runs) {
    for (const auto& task : run.summary.tasks)
      if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) tasks.push_back(task);
    length_set.insert(run.summary.lengths.begin(), run.summary.lengths.end());
  }
  const std::vector<int> lengths(length_set.begin(), length_set.end());

  std::string html = fmt::format(
      "<p>Metric: RULER string_match_all, the percent of expected values found in each answer, averaged over "
      "samples; below each score its Wilson 95% interval (the average row pools every task's samples). Runs: {}.</p>\n",
      runs.size());
  html += "<h2>Recall by task and length</h2>\n<table>\n<tr><th class=\"name\">task</th><th class=\"name\">length</th>";
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
  html += "</table>\n";

  if (runs.size() > 1 && reference < runs.size()) {
    const NamedRun& ref = runs[reference];
    html += fmt::format(
        "<h2>Recall: paired tests against {}</h2>\n<p>Exact McNemar (sign) test over the samples both runs hold: "
        "a sample counts for the run that scored it higher. Bold: p &lt; 0.05.</p>\n<table>\n<tr><th class=\"name\">run"
        "</th><th class=\"name\">samples</th><th>pairs</th><th>run higher</th><th>{} higher</th><th>p</th>"
        "<th class=\"name\">verdict</th></tr>\n",
        xml_escape(ref.name), xml_escape(ref.name));
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (r == reference) continue;
      html += paired_row(runs[r].name, ref.name, "all",
                         paired_test(runs[r].summary.per_sample, ref.summary.per_sample));
      for (int length : lengths)
        html += paired_row(runs[r].name, ref.name, format_length(length),
                           paired_test(samples_at_length(runs[r].summary, length), samples_at_length(ref.summary, length)));
    }
    html += "</table>\n";
  }

  html += "<h2>Recall by length and needle depth (all tasks)</h2>\n<div class=\"heatmaps\">\n";
  for (const auto& run : runs)
    html += "<figure><figcaption>" + xml_escape(run.name) + "</figcaption>\n" +
            render_heatmap_svg(run.summary, "", run.name) + "</figure>\n";
  html += "</div>\n";
  return html;
}

std::string render_report_html(const std::vector<NamedRun>& runs, const std::string& title) {
  return html_page(title, render_niah_section(runs, 0));
}

}  // namespace qk::niah
