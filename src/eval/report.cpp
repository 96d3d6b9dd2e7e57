#include "eval/report.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "niah/heatmap_svg.hpp"
#include "niah/report_html.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/named_path.hpp"

namespace qk::eval {

namespace {

// Reads the file once and tells the two kinds apart by their marker fields.
void add_summary(ReportRun& run, const std::filesystem::path& summary_json) {
  const nlohmann::json j = read_json_file(summary_json);
  const std::string where = summary_json.string();
  if (j.is_object() && field_or<std::string>(j, "kind", where, "") == "reasoning")
    run.reasoning = reasoning_summary_from_json(j, where);
  else if (j.is_object() && field_or<std::string>(j, "metric", where, "") == "string_match_all")
    run.recall = niah::summary_from_json(j, where);
  else
    fail(ErrorKind::Format, "{} is neither a `niah score` nor an `eval score` summary", where);
}

std::string pct(double fraction) { return fmt::format("{:.1f}", 100 * fraction); }

}  // namespace

std::vector<ReportRun> load_report_runs(const std::vector<std::string>& specs) {
  std::vector<ReportRun> runs;
  for (const auto& spec : specs) {
    const NamedPath run = parse_named_path(spec, "--run", "DIR", "a folder written by `niah score` or `eval score`");
    const std::string& name = run.name;
    const std::filesystem::path& path = run.path;
    auto it = std::find_if(runs.begin(), runs.end(), [&](const ReportRun& r) { return r.name == name; });
    if (it == runs.end()) it = runs.insert(runs.end(), ReportRun{name, std::nullopt, std::nullopt});
    std::error_code error;
    if (!std::filesystem::exists(path, error)) fail(ErrorKind::Io, "--run {}: {} does not exist", name, path.string());
    if (!std::filesystem::is_directory(path, error)) {
      add_summary(*it, path);
      continue;
    }
    bool found = false;
    for (const char* candidate : {"summary.json", "niah/summary.json", "eval/summary.json", "reasoning/summary.json"})
      if (std::filesystem::exists(path / candidate, error)) add_summary(*it, path / candidate), found = true;
    if (!found)
      fail(ErrorKind::Format, "--run {}: {} holds no summary.json (nor niah/, eval/ or reasoning/ with one)", name,
           path.string());
  }
  return runs;
}

AxisPoint recall_point(const niah::Summary& summary) {
  return {summary.overall.score(), summary.overall.interval()};
}

AxisPoint reasoning_point(const ReasoningSummary& summary) { return {summary.accuracy, summary.ci95}; }

std::string render_frontier_svg(const std::vector<ReportRun>& runs, const std::string& title) {
  constexpr double left = 70, top = 40, size = 420, right_pad = 160, bottom = 60;
  auto x_of = [&](double percent) { return left + size * percent / 100; };
  auto y_of = [&](double percent) { return top + size * (1 - percent / 100); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<title>{2}</title>\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<text x=\"{3}\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{2}</text>\n",
      left + size + right_pad, top + size + bottom, xml_escape(title), left);
  for (int tick = 0; tick <= 100; tick += 20) {
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>"
                       "<text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                       x_of(tick), top, top + size, top + size + 18, tick);
    svg += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" stroke=\"#e4e4e4\"/>"
                       "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
                       y_of(tick), left, left + size, left - 6, y_of(tick) + 4, tick);
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n", left, top,
                     size, size);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">reasoning accuracy (%)</text>\n", left + size / 2,
                     top + size + 40);
  svg += fmt::format("<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0})\">NIAH recall, "
                     "all samples (%)</text>\n",
                     top + size / 2);

  struct Point {
    std::string name;
    AxisPoint x, y;
  };
  std::vector<Point> points;
  for (const auto& run : runs)
    if (run.recall && run.reasoning) points.push_back({run.name, reasoning_point(*run.reasoning), recall_point(*run.recall)});
  // The frontier: runs that no other run matches or beats on both axes (point estimates), by reasoning.
  std::vector<const Point*> frontier;
  for (const auto& p : points) {
    const bool dominated = std::any_of(points.begin(), points.end(), [&](const Point& q) {
      return &q != &p && q.x.value >= p.x.value && q.y.value >= p.y.value && (q.x.value > p.x.value || q.y.value > p.y.value);
    });
    if (!dominated) frontier.push_back(&p);
  }
  std::sort(frontier.begin(), frontier.end(), [](const Point* a, const Point* b) { return a->x.value < b->x.value; });
  if (frontier.size() > 1) {
    std::string path;
    for (const Point* p : frontier) path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", x_of(p->x.value), y_of(p->y.value));
    svg += "<path d=\"" + path + "\" fill=\"none\" stroke=\"#1a9850\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n";
  }
  const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    const char* color = palette[i % std::size(palette)];
    const double cx = x_of(p.x.value), cy = y_of(p.y.value);
    svg += fmt::format("<g class=\"run\"><title>{}: reasoning {:.1f} [{}, {}], recall {:.1f} [{}, {}]</title>\n",
                       xml_escape(p.name), p.x.value, pct(p.x.interval.low), pct(p.x.interval.high), p.y.value,
                       pct(p.y.interval.low), pct(p.y.interval.high));
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"/>\n",
                       x_of(100 * p.x.interval.low), cy, x_of(100 * p.x.interval.high), cy, color);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"/>\n", cx,
                       y_of(100 * p.y.interval.low), cx, y_of(100 * p.y.interval.high), color);
    svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"/>\n", cx, cy, color);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{}</text></g>\n", cx + 8, cy - 6, color,
                       xml_escape(p.name));
  }
  if (points.empty())
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#999\">no run has both recall and "
                       "reasoning</text>\n",
                       left + size / 2, top + size / 2);
  return svg + "</svg>\n";
}

std::string render_report(const std::vector<ReportRun>& runs, const std::string& title, const std::string& reference) {
  std::size_t reference_index = 0;
  if (!reference.empty()) {
    auto it = std::find_if(runs.begin(), runs.end(), [&](const ReportRun& r) { return r.name == reference; });
    if (it == runs.end()) fail(ErrorKind::Usage, "--reference {} is not one of the --run names", reference);
    reference_index = static_cast<std::size_t>(it - runs.begin());
  }
  const std::string& ref_name = runs.empty() ? reference : runs[reference_index].name;
  std::string body = fmt::format(
      "<p>Runs: {}. Reference for the paired tests: <b>{}</b>. Every score carries its Wilson 95% interval; a "
      "difference is called significant only when an exact McNemar test over the samples both runs hold gives "
      "p &lt; 0.05.</p>\n",
      runs.size(), xml_escape(ref_name));
  body += "<h2>Recall vs reasoning</h2>\n<figure>" + render_frontier_svg(runs, title + ": recall vs reasoning") +
          "<figcaption>Whiskers: 95% intervals. Dashed: runs no other run beats on both axes.</figcaption></figure>\n";

  std::vector<const ReportRun*> reasoning_runs;
  for (const auto& run : runs)
    if (run.reasoning) reasoning_runs.push_back(&run);
  if (!reasoning_runs.empty()) {
    const ReportRun* ref = runs[reference_index].reasoning ? &runs[reference_index] : nullptr;
    body += "<h2>Reasoning</h2>\n<table>\n<tr><th class=\"name\">run</th><th>metric</th><th>accuracy</th>"
            "<th>95% CI</th><th>correct / total</th><th>cut by max_tokens</th><th>no answer</th>";
    if (ref) body += "<th class=\"name\">vs " + xml_escape(ref->name) + " (exact McNemar)</th>";
    body += "</tr>\n";
    for (const ReportRun* run : reasoning_runs) {
      const ReasoningSummary& s = *run->reasoning;
      body += fmt::format("<tr><td class=\"name\">{}</td><td>{}</td><td style=\"background:{}\">{:.1f}</td><td>{}&ndash;{}"
                          "</td><td>{} / {}</td><td>{}</td><td>{}</td>",
                          xml_escape(run->name),
                          s.samples_per_problem > 1 ? fmt::format("maj@{}", s.samples_per_problem) : "pass@1",
                          niah::score_color(s.accuracy), s.accuracy, pct(s.ci95.low), pct(s.ci95.high), s.correct,
                          s.total, s.truncated, s.no_answer);
      if (ref) {
        if (run == ref) {
          body += "<td class=\"name\">(reference)</td>";
        } else {
          const PairedTest t = paired_test(s.per_problem, ref->reasoning->per_problem);
          body += fmt::format("<td class=\"name{}\">{}</td>", t.pairs && t.significant() ? " significant" : "",
                              xml_escape(describe_paired(t, run->name, ref->name)));
        }
      }
      body += "</tr>\n";
    }
    body += "</table>\n";
  }

  std::vector<niah::NamedRun> recall_runs;
  std::size_t recall_reference = 0;
  for (const auto& run : runs)
    if (run.recall) {
      if (&run == &runs[reference_index]) recall_reference = recall_runs.size();
      recall_runs.push_back({run.name, *run.recall});
    }
  if (!recall_runs.empty()) body += niah::render_niah_section(recall_runs, recall_reference);
  return niah::html_page(title, body);
}

}  // namespace qk::eval
