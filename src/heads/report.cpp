#include "heads/report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "niah/heatmap_svg.hpp"

namespace qk::heads {
namespace {

double value_or(const std::optional<Estimate>& i, double fallback) { return i ? i->value : fallback; }

nlohmann::ordered_json interval_json(const std::optional<Estimate>& i) {
  if (!i) return nullptr;
  return {{"value", i->value}, {"low", i->low}, {"high", i->high}};
}

std::string interval_text(const std::optional<Estimate>& i, double scale = 1, int digits = 1) {
  if (!i) return "-";
  return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", i->value * scale, digits, i->low * scale, digits, i->high * scale, digits);
}

}  // namespace

void rank(HeadsReport& report) {
  for (auto& g : report.groups) {
    std::stable_sort(g.heads.begin(), g.heads.end(), [](const HeadEvidence& a, const HeadEvidence& b) {
      const double ra = value_or(a.retrieval_base, -1), rb = value_or(b.retrieval_base, -1);
      if (ra != rb) return ra > rb;
      return a.drift > b.drift;
    });
    double drift = 0;
    for (const auto& h : g.heads) drift += h.drift / static_cast<double>(g.heads.size());
    g.drift = drift;
    if (!g.heads.empty()) {
      g.retrieval_base = g.heads.front().retrieval_base;
      g.retrieval_sft = g.heads.front().retrieval_sft;
      g.mass_base = g.heads.front().mass_base;
      g.mass_sft = g.heads.front().mass_sft;
    }
    if (g.recall_gain) g.score = g.recall_gain->value, g.decided_by = "recall_gain";
    else if (g.retrieval_base) g.score = g.retrieval_base->value, g.decided_by = "retrieval_base";
    else g.score = g.drift, g.decided_by = "drift";
  }
  std::stable_sort(report.groups.begin(), report.groups.end(), [](const GroupEvidence& a, const GroupEvidence& b) {
    if (a.recall_gain.has_value() != b.recall_gain.has_value()) return a.recall_gain.has_value();
    if (a.recall_gain && a.recall_gain->value != b.recall_gain->value) return a.recall_gain->value > b.recall_gain->value;
    const double ra = value_or(a.retrieval_base, -1), rb = value_or(b.retrieval_base, -1);
    if (ra != rb) return ra > rb;
    if (a.drift != b.drift) return a.drift > b.drift;
    return std::pair(a.layer, a.kv_group) < std::pair(b.layer, b.kv_group);
  });
}

nlohmann::ordered_json to_json(const HeadsReport& report) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  int rank_number = 0;
  for (const auto& g : report.groups) {
    nlohmann::ordered_json heads = nlohmann::ordered_json::array();
    std::vector<int> order;
    for (const auto& h : g.heads) {
      order.push_back(h.head);
      heads.push_back({{"head", h.head}, {"drift", h.drift}, {"retrieval_base", interval_json(h.retrieval_base)},
                       {"retrieval_sft", interval_json(h.retrieval_sft)}, {"mass_base", interval_json(h.mass_base)},
                       {"mass_sft", interval_json(h.mass_sft)}});
    }
    list.push_back({{"layer", g.layer},
                    {"kv_group", g.kv_group},
                    {"query_heads", order},
                    {"score", g.score},
                    {"rank", ++rank_number},
                    {"decided_by", g.decided_by},
                    {"recall_gain", interval_json(g.recall_gain)},
                    {"recall", interval_json(g.recall)},
                    {"retrieval_base", interval_json(g.retrieval_base)},
                    {"retrieval_sft", interval_json(g.retrieval_sft)},
                    {"mass_base", interval_json(g.mass_base)},
                    {"mass_sft", interval_json(g.mass_sft)},
                    {"drift", g.drift},
                    {"heads_spec", fmt::format("{}:{}", g.layer, g.kv_group)},
                    {"per_head", heads}});
  }
  return list;
}

std::string to_markdown(const HeadsReport& r) {
  std::string md = fmt::format("# Retrieval heads: {} vs {}\n\n", r.sft, r.base);
  md += fmt::format("model_type {}; global layers {}; {} query heads on {} KV heads per layer; {:.1f} s.\n\n", r.model_type,
                    fmt::join(r.global_layers, ", "), r.heads, r.kv_heads, r.seconds);
  if (!r.niah_description.empty()) md += fmt::format("Engine evidence on {} ({} samples).\n\n", r.niah_description, r.samples);
  if (r.recall_sft)
    md += fmt::format("Recall (exact match, %, 95% interval): base {}, SFT {}, SFT + full QK-Restore {}.\n\n", interval_text(r.recall_base),
                      interval_text(r.recall_sft), interval_text(r.recall_full_restore));
  md += "Ranked by measured recall gain when available, then the base retrieval score of the group's best query head, then drift "
        "(docs/heads.md). Intervals are 95%.\n\n";
  md += "| rank | --heads | query heads (best first) | recall gain (points) | recall | retrieval base | retrieval SFT | needle mass base | needle mass SFT | drift | decided by |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|\n";
  int n = 0;
  for (const auto& g : r.groups) {
    std::vector<int> order;
    for (const auto& h : g.heads) order.push_back(h.head);
    md += fmt::format("| {} | `{}:{}` | {} | {} | {} | {} | {} | {} | {} | {:.4f} | {} |\n", ++n, g.layer, g.kv_group, fmt::join(order, ", "),
                      interval_text(g.recall_gain), interval_text(g.recall), interval_text(g.retrieval_base, 100),
                      interval_text(g.retrieval_sft, 100), interval_text(g.mass_base, 100), interval_text(g.mass_sft, 100), g.drift,
                      g.decided_by);
  }
  md += "\nretrieval: Wu et al. 2024's retrieval score x 100 (teacher-forced answer); needle mass: attention on the needle's value "
        "tokens x 100, mean over answering positions; drift: mean over the group's query heads of diagnose's form_drift.\n";
  for (const auto& note : r.notes) md += "\nnote: " + note + "\n";
  return md;
}

std::string to_svg(const HeadsReport& r) {
  constexpr int kCell = 64, kLeft = 70, kTop = 48, kBottom = 40;
  const int columns = static_cast<int>(std::max<long>(r.kv_heads, 1)), rows = static_cast<int>(std::max<std::size_t>(r.global_layers.size(), 1));
  const int width = kLeft + columns * kCell + 20, height = kTop + rows * kCell + kBottom;
  const std::string title = "KV groups ranked (1 = best): " + r.sft;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n<title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"8\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>\n",
      width, height, width, height, xml_escape(title), xml_escape(title));
  for (int c = 0; c < columns; ++c)
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">group {}</text>\n", kLeft + c * kCell + kCell / 2, kTop - 8, c);
  const double count = static_cast<double>(std::max<std::size_t>(r.groups.size(), 1));
  for (int row = 0; row < static_cast<int>(r.global_layers.size()); ++row) {
    const int layer = r.global_layers[static_cast<std::size_t>(row)], y = kTop + row * kCell;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">layer {}</text>\n", kLeft - 6, y + kCell / 2, layer);
    for (std::size_t i = 0; i < r.groups.size(); ++i) {
      const auto& g = r.groups[i];
      if (g.layer != layer) continue;
      const double shade = count <= 1 ? 100.0 : 100.0 * (1.0 - static_cast<double>(i) / (count - 1));
      const int x = kLeft + g.kv_group * kCell;
      const std::string value = g.decided_by == "recall_gain" ? fmt::format("{:+.0f}", g.score)
                                : g.decided_by == "retrieval_base" ? fmt::format("r {:.2f}", g.score)
                                                                   : fmt::format("d {:.3f}", g.score);
      svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"white\"><title>layer {} group {}: rank {}, "
                         "{} {:.4g}</title></rect>\n",
                         x, y, kCell, kCell, niah::score_color(shade), layer, g.kv_group, i + 1, g.decided_by, g.score);
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">#{}</text>\n", x + kCell / 2, y + kCell / 2 - 4, i + 1);
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x + kCell / 2, y + kCell / 2 + 12, xml_escape(value));
    }
  }
  svg += fmt::format("<text x=\"8\" y=\"{}\">cell: rank, and the evidence that decided it (+N: recall gain in points; r: base retrieval "
                     "score; d: drift)</text>\n</svg>\n",
                     height - 14);
  return svg;
}

}  // namespace qk::heads
