#include "diagnose/diagnose.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "util/xml_escape.hpp"

namespace qk::diagnose {
namespace {

// White -> `to` as v goes lo -> hi.
std::string color(double v, double lo, double hi, int r, int g, int b) {
  double t = hi > lo ? std::clamp((v - lo) / (hi - lo), 0.0, 1.0) : 0.0;
  auto mix = [&](int c) { return static_cast<int>(std::lround(255 + t * (c - 255))); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(r), mix(g), mix(b));
}

struct Palette {
  int r, g, b;
};
const Palette kRed{178, 24, 43}, kGreen{26, 152, 80}, kBlue{33, 102, 172};

// Heatmap: one row per global layer, one column per head.
std::string heatmap(const Report& r, const std::string& title, const std::string& unit, std::function<double(const HeadDrift&)> value,
                    Palette p, std::optional<std::pair<double, double>> range = {}) {
  std::vector<const LayerDrift*> rows;
  for (const auto& l : r.layers)
    if (!l.heads.empty()) rows.push_back(&l);
  if (rows.empty()) return "";
  double lo = 1e300, hi = -1e300;
  for (const auto* l : rows)
    for (const auto& h : l->heads) lo = std::min(lo, value(h)), hi = std::max(hi, value(h));
  if (range) std::tie(lo, hi) = *range;
  const int cell = 26, left = 70, top = 34, heads = static_cast<int>(rows.front()->heads.size());
  const int width = left + heads * cell + 120, height = top + static_cast<int>(rows.size()) * cell + 40;
  std::string svg = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="{}">)", width, height,
                                xml_escape(title));
  svg += fmt::format(R"(<text x="{}" y="20" class="t">{}</text>)", left, xml_escape(title));
  for (int h = 0; h < heads; ++h)
    svg += fmt::format(R"(<text x="{}" y="{}" class="a" text-anchor="middle">{}</text>)", left + h * cell + cell / 2, top - 4, h);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int y = top + static_cast<int>(i) * cell;
    svg += fmt::format(R"(<text x="{}" y="{}" class="a" text-anchor="end">layer {}</text>)", left - 6, y + cell / 2 + 4, rows[i]->layer);
    for (const auto& h : rows[i]->heads) {
      const double v = value(h);
      svg += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#fff"><title>layer {} head {} (kv {}): {:.4g}{}</title></rect>)",
                         left + h.head * cell, y, cell, cell, color(v, lo, hi, p.r, p.g, p.b), rows[i]->layer, h.head, h.kv_head, v, unit);
    }
  }
  // Legend: the scale from lo to hi.
  const int lx = left + heads * cell + 20;
  for (int k = 0; k < 10; ++k)
    svg += fmt::format(R"(<rect x="{}" y="{}" width="16" height="10" fill="{}"/>)", lx, top + k * 10,
                       color(lo + (hi - lo) * (9 - k) / 9.0, lo, hi, p.r, p.g, p.b));
  svg += fmt::format(R"(<text x="{}" y="{}" class="a">{:.3g}{}</text><text x="{}" y="{}" class="a">{:.3g}{}</text>)", lx + 20, top + 9, hi,
                     unit, lx + 20, top + 100, lo, unit);
  svg += fmt::format(R"(<text x="{}" y="{}" class="a">head</text></svg>)", left, height - 10);
  return "<figure>" + svg + "</figure>\n";
}

// Band plot: drift per RoPE band (x, short -> long wavelength), one line per global layer.
std::string band_plot(const Report& r) {
  std::vector<const LayerDrift*> rows;
  for (const auto& l : r.layers)
    if (!l.bands.empty()) rows.push_back(&l);
  if (rows.empty()) return "";
  const std::size_t bands = rows.front()->bands.size();
  double hi = 0;
  for (const auto* l : rows)
    for (const auto& b : l->bands) hi = std::max(hi, b.drift);
  if (hi <= 0) hi = 1;
  const int left = 60, top = 30, w = std::max<int>(360, 70 * static_cast<int>(bands)), h = 220;
  std::string svg = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="band drift">)",
                                left + w + 150, top + h + 70);
  svg += fmt::format(R"(<text x="{}" y="18" class="t">Drift per RoPE frequency band (W_Q and W_K rows)</text>)", left);
  svg += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#333"/><line x1="{0}" y1="{2}" x2="{3}" y2="{2}" stroke="#333"/>)",
                     left, top, top + h, left + w);
  for (int k = 0; k <= 4; ++k)
    svg += fmt::format(R"(<text x="{}" y="{}" class="a" text-anchor="end">{:.3g}</text>)", left - 4, top + h - k * h / 4 + 4, hi * k / 4);
  auto x_of = [&](std::size_t b) { return left + (bands == 1 ? w / 2 : static_cast<int>(b * (w - 20) / (bands - 1)) + 10); };
  for (std::size_t b = 0; b < bands; ++b) {
    const Band& band = rows.front()->bands[b];
    const std::string label = band.max_wavelength > 0 ? fmt::format("{:.0f}-{:.0f}", band.min_wavelength, band.max_wavelength) : band.label;
    svg += fmt::format(R"(<text x="{}" y="{}" class="a" text-anchor="middle">{}</text>)", x_of(b), top + h + 16, xml_escape(label));
  }
  svg += fmt::format(R"(<text x="{}" y="{}" class="a">wavelength (tokens) of the band's RoPE pairs: local on the left, long-range on the right</text>)",
                     left, top + h + 36);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double hue = rows.size() == 1 ? 0 : 240.0 * i / (rows.size() - 1);
    std::string points;
    for (std::size_t b = 0; b < bands && b < rows[i]->bands.size(); ++b)
      points += fmt::format("{},{:.1f} ", x_of(b), top + h - rows[i]->bands[b].drift / hi * h);
    svg += fmt::format(R"svg(<polyline points="{}" fill="none" stroke="hsl({:.0f},70%,40%)" stroke-width="2"><title>layer {}</title></polyline>)svg", points,
                       hue, rows[i]->layer);
    svg += fmt::format(R"svg(<text x="{}" y="{}" class="a" fill="hsl({:.0f},70%,40%)">layer {}</text>)svg", left + w + 12, top + 12 + 14 * static_cast<int>(i),
                       hue, rows[i]->layer);
  }
  return "<figure>" + svg + "</svg></figure>\n";
}

// Bars: drift of every layer, global (Q/K) in red, the others (mixers) in blue.
std::string layer_bars(const Report& r) {
  double hi = 0;
  for (const auto& l : r.layers) hi = std::max(hi, l.drift);
  if (hi <= 0) hi = 1;
  const int left = 60, top = 30, bar = 18, h = 180, w = static_cast<int>(r.layers.size()) * (bar + 6);
  std::string svg = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="layer drift">)",
                                left + w + 40, top + h + 50);
  svg += fmt::format(R"(<text x="{}" y="18" class="t">Relative drift per layer: global Q/K (red) vs other mixers (blue)</text>)", left);
  for (std::size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    const int x = left + static_cast<int>(i) * (bar + 6), bh = static_cast<int>(std::lround(l.drift / hi * h));
    svg += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>layer {} ({}): {:.4g}</title></rect>)", x, top + h - bh, bar,
                       bh, l.kind == "global" ? "#b2182b" : "#2166ac", l.layer, l.kind, l.drift);
    svg += fmt::format(R"(<text x="{}" y="{}" class="a" text-anchor="middle">{}</text>)", x + bar / 2, top + h + 14, l.layer);
  }
  svg += fmt::format(R"(<text x="{}" y="{}" class="a" text-anchor="end">{:.3g}</text>)", left - 4, top + 8, hi);
  return "<figure>" + svg + "</svg></figure>\n";
}

}  // namespace

std::string to_html(const Report& r) {
  std::string html = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>qkrestore diagnose</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
figure { display: inline-block; margin: 8px 16px 8px 0; vertical-align: top; }
.t { font: bold 13px sans-serif; } .a { font: 11px sans-serif; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
pre { background: #f6f6f6; padding: 8px; font-size: 12px; overflow-x: auto; }
</style></head><body>
)";
  html += fmt::format("<h1>Where SFT moved the attention routing</h1>\n<p>base: <code>{}</code><br>SFT: <code>{}</code><br>{}: {} query heads, {} "
                      "KV heads, head_dim {}, rotary_dim {}{}</p>\n",
                      xml_escape(r.base), xml_escape(r.sft), xml_escape(r.model_type), r.heads, r.kv_heads, r.head_dim, r.rotary_dim,
                      r.rotary_dim == 0 ? " (NoPE)" : fmt::format(", rope_theta {:g}", r.rope_theta));
  html += "<h2>Per head (global attention layers)</h2>\n";
  html += heatmap(r, "W_Q drift ||dW||/||W||", "", [](const HeadDrift& h) { return h.q_drift; }, kRed);
  html += heatmap(r, "W_K drift (of the head's KV group)", "", [](const HeadDrift& h) { return h.k_drift; }, kRed);
  html += heatmap(r, "Bilinear form drift (W_Q^T W_K)", "", [](const HeadDrift& h) { return h.form_drift; }, kRed);
  html += heatmap(r, "Share of the drift that is a rotation", "", [](const HeadDrift& h) { return h.rotation_share; }, kGreen,
                  std::pair{0.0, 1.0});
  html += heatmap(r, "Mean principal angle, W_Q row spaces", "°", [](const HeadDrift& h) { return h.q_angle_mean; }, kBlue);
  html += "<p>A high rotation share means SFT mostly turned the query/key frame, which <code>qkrestore procrustes</code> keeps while "
          "restoring the routing; a high form drift with a low share means SFT changed the routing itself.</p>\n";
  html += "<h2>By RoPE frequency band</h2>\n" + band_plot(r);
  html += "<h2>All layers</h2>\n" + layer_bars(r);
  html += "<h2>Summary</h2>\n<pre>" + xml_escape(to_text(r)) + "</pre>\n</body></html>\n";
  return html;
}

}  // namespace qk::diagnose
