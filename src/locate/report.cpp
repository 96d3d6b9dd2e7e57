#include "locate/report.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "niah/heatmap_svg.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json.hpp"
#include "util/xml_escape.hpp"

namespace qk::locate {
namespace {

const char* effect_word(View view) { return view == View::Forward ? "won back" : "broken"; }

std::string view_title(View view) {
  return view == View::Forward ? "Forward view: SFT + base's X (recall won back, reasoning lost)"
                               : "Reverse view: base + SFT's X (recall broken)";
}

std::string cell_text(const niah::Cell& cell) { return format_percent_interval(cell.score(), cell.interval()); }

std::string p_text(double p) { return fmt::format("{:.2g}", p); }

std::string references_text(const LocateReportInfo& info) {
  std::string text;
  for (const auto* r : {info.sft_result, info.base_result}) {
    if (!r) continue;
    text += fmt::format("- {} ({}): recall", r->candidate.name, r->candidate.description());
    for (const auto& [length, cell] : r->recall.by_length) text += fmt::format(" {} {},", niah::format_length(length), cell_text(cell));
    text.pop_back();
    if (r->reasoning.total > 0) text += fmt::format("; reasoning {}", format_percent_interval(r->reasoning.accuracy, r->reasoning.ci95));
    text += "\n";
  }
  return text;
}

// White at no effect, the view's colour at 100 points; grey for an effect the other way.
std::string effect_color(double points, View view) {
  if (points < 0) return "#e8e8e8";
  const double t = std::min(points, 100.0) / 100.0;
  const int r0 = view == View::Forward ? 26 : 215, g0 = view == View::Forward ? 152 : 48, b0 = view == View::Forward ? 80 : 39;
  auto mix = [&](int c) { return static_cast<int>(std::lround(255 + (c - 255) * t)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(r0), mix(g0), mix(b0));
}

// One heatmap: a row per class and depth, a column per layer; length 0: the mean over the lengths.
std::string heatmap(const LocateResult& result, View view, int length, const LocateReportInfo& info) {
  std::vector<std::string> classes;  // in the order first measured
  std::map<std::pair<std::string, std::size_t>, std::vector<const SiteResult*>> rows;
  for (const auto& s : result.sites) {
    if (s.view != view) continue;
    if (std::find(classes.begin(), classes.end(), s.site.tensor_class) == classes.end()) classes.push_back(s.site.tensor_class);
    rows[{s.site.tensor_class, s.depth}].push_back(&s);
  }
  std::string html = "<table class=\"heat\"><tr><th>class</th>";
  for (int l = 0; l < info.num_layers; ++l) html += fmt::format("<th>{}</th>", l);
  html += "</tr>\n";
  for (const auto& c : classes)
    for (std::size_t depth = 0; rows.count({c, depth}); ++depth) {
      auto sites = rows[{c, depth}];
      std::sort(sites.begin(), sites.end(), [](const SiteResult* a, const SiteResult* b) {
        return (a->site.layers ? a->site.layers->first : -1) < (b->site.layers ? b->site.layers->first : -1);
      });
      html += fmt::format("<tr><th>{}{}</th>", xml_escape(c), depth ? fmt::format(" <small>(refined {})</small>", depth) : "");
      int column = 0;
      for (const SiteResult* s : sites) {
        const int first = s->site.layers ? s->site.layers->first : 0;
        const int last = s->site.layers ? s->site.layers->last : info.num_layers - 1;
        if (first > column) html += fmt::format("<td colspan=\"{}\"></td>", first - column);
        double effect = s->effect;
        std::string tip = fmt::format("{} ({} view): mean {} {:.1f} points", s->site.unit(), view_name(view), effect_word(view), s->effect);
        bool significant = s->significant;
        for (const auto& e : s->lengths) {
          tip += fmt::format("; {}: recall {}, {} {:+.1f}, p = {}", niah::format_length(e.length), cell_text(e.recall),
                             effect_word(view), e.effect, p_text(e.test.p_value));
          if (e.length == length) effect = e.effect, significant = e.significant(0.05);
        }
        html += fmt::format("<td colspan=\"{}\" style=\"background:{}\" title=\"{}\">{}{:.0f}{}</td>", last - first + 1,
                            effect_color(effect, view), xml_escape(tip), significant ? "<b>" : "", effect, significant ? "</b>" : "");
        column = last + 1;
      }
      if (column < info.num_layers) html += fmt::format("<td colspan=\"{}\"></td>", info.num_layers - column);
      html += "</tr>\n";
    }
  return html + "</table>\n";
}

std::vector<int> lengths_of(const LocateResult& result) {
  std::vector<int> out;
  if (!result.sites.empty())
    for (const auto& e : result.sites[0].lengths) out.push_back(e.length);
  return out;
}

}  // namespace

nlohmann::ordered_json locate_json(const LocateResult& result, const LocateReportInfo& info) {
  nlohmann::ordered_json j;
  j["base"] = info.base;
  j["sft"] = info.sft;
  j["niah_tasks"] = info.niah_tasks;
  j["reasoning_tasks"] = info.reasoning_tasks;
  j["num_layers"] = info.num_layers;
  if (!result.stopped.empty()) j["stopped"] = result.stopped;
  auto& sites = j["sites"] = nlohmann::ordered_json::array();
  for (const auto& s : result.sites) {
    nlohmann::ordered_json site{{"unit", s.site.unit()},
                                {"class", s.site.tensor_class},
                                {"view", view_name(s.view)},
                                {"depth", s.depth},
                                {"candidate", s.candidate},
                                {"effect", s.effect},
                                {"significant", s.significant}};
    if (s.site.layers) site["layers"] = {s.site.layers->first, s.site.layers->last};
    auto& lengths = site["lengths"] = nlohmann::ordered_json::array();
    for (const auto& e : s.lengths)
      lengths.push_back({{"length", e.length},
                         {"recall", e.recall.score()},
                         {"recall_ci95", {100 * e.recall.interval().low, 100 * e.recall.interval().high}},
                         {"reference", e.reference.score()},
                         {"effect", e.effect},
                         {"p", e.test.p_value},
                         {"discordant", {e.test.only_first, e.test.only_second}}});
    if (s.reasoning) {
      site["reasoning"] = *s.reasoning;
      site["reasoning_ci95"] = {100 * s.reasoning_ci95.low, 100 * s.reasoning_ci95.high};
      if (s.reasoning_test) site["reasoning_p"] = s.reasoning_test->p_value;
    }
    sites.push_back(site);
  }
  for (View view : {View::Forward, View::Reverse}) {
    auto& ranking = j["ranking"][view_name(view)] = nlohmann::ordered_json::array();
    for (std::size_t i : result.ranking(view)) ranking.push_back(result.sites[i].site.unit());
  }
  return j;
}

std::string locate_markdown(const LocateResult& result, const LocateReportInfo& info) {
  const std::vector<int> lengths = lengths_of(result);
  std::string md = fmt::format("# locate: {} -> {}\n\nRecall: {} (RULER string_match_all); reasoning: {}. [95% Wilson "
                               "intervals]; p: exact McNemar against the view's reference over the same samples; **bold**: "
                               "significant (p < 0.05) in the view's direction.\n\n{}",
                               info.base, info.sft, info.niah_tasks, info.reasoning_tasks.empty() ? "not measured" : info.reasoning_tasks,
                               references_text(info));
  if (!result.stopped.empty()) md += "\nRefinement stopped: " + result.stopped + ".\n";
  for (View view : {View::Forward, View::Reverse}) {
    if (result.ranking(view).empty()) continue;
    const bool reasoning = std::any_of(result.sites.begin(), result.sites.end(), [&](const SiteResult& s) { return s.view == view && s.reasoning; });
    md += fmt::format("\n## {}\n\nRanked by the recall {} (points, mean over the lengths); level 0: the grouping, n: refined n "
                      "times.\n\n| rank | unit | level |",
                      view_title(view), effect_word(view));
    std::string rule = "|---:|---|---:|";
    for (int l : lengths) md += fmt::format(" recall {0} | {1} {0} (p) |", niah::format_length(l), effect_word(view)), rule += "---:|---:|";
    md += fmt::format(" mean {} |", effect_word(view)), rule += "---:|";
    if (reasoning) md += fmt::format(" reasoning | reasoning vs {} |", view == View::Forward ? "SFT" : "base"), rule += "---:|---|";
    md += "\n" + rule + "\n";
    std::size_t rank = 0;
    for (std::size_t i : result.ranking(view)) {
      const SiteResult& s = result.sites[i];
      md += fmt::format("| {} | `{}` | {} |", ++rank, s.site.unit(), s.depth);
      for (const auto& e : s.lengths) {
        const std::string effect = fmt::format("{:+.1f} ({})", e.effect, p_text(e.test.p_value));
        md += fmt::format(" {} | {} |", cell_text(e.recall), e.significant(0.05) ? "**" + effect + "**" : effect);
      }
      md += fmt::format(" {:+.1f} |", s.effect);
      if (reasoning)
        md += s.reasoning ? fmt::format(" {} | {} |", format_percent_interval(*s.reasoning, s.reasoning_ci95),
                                        s.reasoning_test ? describe_paired(*s.reasoning_test, "site", view == View::Forward ? "sft" : "base") : "-")
                          : " - | - |";
      md += "\n";
    }
  }
  return md;
}

std::string locate_html(const LocateResult& result, const LocateReportInfo& info) {
  std::string html = fmt::format(
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>locate: {0}</title><style>body{{font-family:sans-serif;"
      "margin:2em}}table.heat{{border-collapse:collapse;margin:0.5em 0 1.5em}}table.heat td,table.heat th{{border:1px solid "
      "#ccc;padding:4px 8px;text-align:center;min-width:2.5em}}table.heat th{{background:#f4f4f4}}</style></head><body>\n"
      "<h1>locate: {1} &rarr; {0}</h1>\n<p>Per tensor class (rows) and layer (columns): the recall each site wins back "
      "(forward view, green) or breaks (reverse view, red), in points against the view's reference; bold: significant "
      "(exact McNemar, p &lt; 0.05). Hover a cell for its recall, interval and p per length. Samples: {2}.</p>\n",
      xml_escape(info.sft), xml_escape(info.base), xml_escape(info.niah_tasks));
  const std::vector<int> lengths = lengths_of(result);
  for (View view : {View::Forward, View::Reverse}) {
    if (result.ranking(view).empty()) continue;
    html += "<h2>" + xml_escape(view_title(view)) + "</h2>\n";
    for (int l : lengths) html += fmt::format("<h3>{}</h3>\n", niah::format_length(l)) + heatmap(result, view, l, info);
    if (lengths.size() > 1) html += "<h3>mean over the lengths</h3>\n" + heatmap(result, view, 0, info);
  }
  return html + "</body></html>\n";
}

std::vector<std::string> read_forward_ranking(const std::filesystem::path& locate_json) {
  const nlohmann::json j = read_json_file(locate_json);
  const std::string where = locate_json.string();
  std::map<std::string, double> effect;
  for (const auto& site : array_field(j, "sites", where))
    if (string_field(site, "view", where) == "forward") effect[string_field(site, "unit", where)] = field<double>(site, "effect", where);
  std::vector<std::string> units;
  for (const auto& unit : array_field(object_field(j, "ranking", where), "forward", where + ": ranking")) {
    if (!unit.is_string()) fail(ErrorKind::Format, "{}: ranking.forward holds a non-string", where);
    if (effect[unit.get<std::string>()] > 0) units.push_back(unit.get<std::string>());
  }
  return units;
}

void write_locate_outputs(const LocateResult& result, const LocateReportInfo& info, const std::filesystem::path& dir) {
  make_directories(dir);
  write_whole_file(dir / "locate.json", locate_json(result, info).dump(2) + "\n");
  write_whole_file(dir / "locate.md", locate_markdown(result, info));
  write_whole_file(dir / "locate.html", locate_html(result, info));
}

}  // namespace qk::locate
