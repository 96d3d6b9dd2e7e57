// RepairSpec's method side: the method kinds, their defaults, the one factory, and the printed command.
// The options themselves (parse, print, label, JSON) are the table of repair_options.cpp.
#include "surgery/repair_spec.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "surgery/blend_method.hpp"
#include "surgery/plan.hpp"
#include "surgery/procrustes_method.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

constexpr MethodKind kKinds[] = {MethodKind::Restore, MethodKind::Blend, MethodKind::Procrustes, MethodKind::Ridge};

// A shell word: plain text as it is, anything else in single quotes (as the command line is recorded).
std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_of(" \t\n\"'\\$`*?[]{}|&;<>()~#!") == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

const char* method_name(MethodKind kind) {
  switch (kind) {
    case MethodKind::Restore: return "restore";
    case MethodKind::Blend: return "blend";
    case MethodKind::Procrustes: return "procrustes";
    case MethodKind::Ridge: return "ridge";
  }
  return "?";
}

MethodKind parse_method_kind(std::string_view name, const std::string& where, bool format_error) {
  for (MethodKind k : kKinds)
    if (name == method_name(k)) return k;
  fail(format_error ? ErrorKind::Format : ErrorKind::Usage, "{}: method '{}' is not one this version computes (restore, blend, procrustes, ridge)",
       where, name);
}

MethodSpec MethodSpec::defaults(MethodKind kind) {
  MethodSpec m;
  m.kind = kind;
  if (kind == MethodKind::Blend) m.alpha = 0.5;
  return m;
}

bool MethodSpec::operator==(const MethodSpec& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case MethodKind::Restore: return true;
    case MethodKind::Blend: return alpha == o.alpha && layer_alphas == o.layer_alphas;
    case MethodKind::Procrustes: return alpha == o.alpha && granularity == o.granularity;
    case MethodKind::Ridge: return lambda == o.lambda;
  }
  return false;
}

std::string RepairSpec::command(const std::string& base, const std::string& sft, const std::string& out) const {
  std::string text = fmt::format("qkrestore {} --base {} --sft {} --out {}", method_name(method.kind), shell_word(base), shell_word(sft),
                                 shell_word(out));
  for (const auto& arg : to_args()) text += " " + shell_word(arg);
  return text;
}

std::unique_ptr<SurgeryMethod> RepairSpec::make_method() const {
  switch (method.kind) {
    case MethodKind::Restore: return std::make_unique<RestoreMethod>();
    case MethodKind::Blend: return std::make_unique<BlendMethod>(method.alpha, method.layer_alphas);
    case MethodKind::Procrustes: return std::make_unique<ProcrustesMethod>(method.alpha, parse_granularity(method.granularity));
    case MethodKind::Ridge: return std::make_unique<RidgeMethod>(method.lambda);
  }
  fail(ErrorKind::Usage, "unknown repair method");
}

void RepairSpec::check_against(const SurgeryPlan& plan) const {
  if (method.kind != MethodKind::Blend) return;
  for (const auto& [layer, alpha] : method.layer_alphas)
    if (std::find(plan.selected_layers.begin(), plan.selected_layers.end(), layer) == plan.selected_layers.end())
      fail(ErrorKind::Usage, "a per-layer alpha ({}) is given for layer {}, which the plan does not change (selected layers: {})", alpha,
           layer, fmt::join(plan.selected_layers, ","));
}

}  // namespace qk
