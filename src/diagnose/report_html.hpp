// The diagnose report as one self-contained HTML page (inline CSS and SVG, no script, no network):
// heatmaps layers x heads of each head metric, a band plot per global layer, and the per-layer
// drift of every layer (global Q/K next to the linear-attention mixers).
#pragma once
#include <string>

#include "diagnose/diagnose.hpp"

namespace qk::diagnose {

std::string to_html(const Report& report);

}  // namespace qk::diagnose
