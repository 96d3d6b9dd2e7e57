// A repair, as one typed value: which tensors (and rows) come from BASE (the selection) and how they
// are computed (the method and its parameters). Every view of a repair goes through the one codec
// declared here:
//   - command-line arguments: parsed from the options the commands take (`--heads 3:0 --alpha 0.5`)
//     and printed back as arguments a user can rerun (command());
//   - JSON: the "method", "method_options" and "options" fields of qkrestore.json, read back by
//     `verify` (also each candidate's "spec" in sweep.json);
//   - a short stable label ("blend a=0.5 heads=3:0"), the sweep's cache key;
//   - the SurgeryMethod that computes it (make_method()).
// Adding an option means adding a field below and one row to the option table (repair_options.cpp),
// which gives it its CLI spelling, its printed form, its label and its JSON field at once.
//
//   RepairSpec spec = RepairSpec::parse_args(MethodKind::Blend, {"--heads", "3:0", "--alpha", "0.25"});
//   spec.command("B", "S", "O");  // "qkrestore blend --base B --sft S --out O --alpha 0.25 --heads 3:0"
//   spec.label();                 // "blend a=0.25 heads=3:0"
//   RepairSpec::from_json(spec.to_json(), "where") == spec;
//   make_plan(base, sft, spec.selection, table);  spec.make_method()->compute_layer(...);
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "surgery/head_selection.hpp"

namespace qk {

class SurgeryMethod;
struct SurgeryPlan;

enum class MethodKind { Restore, Blend, Procrustes, Ridge };
const char* method_name(MethodKind kind);  // "restore", "blend", "procrustes", "ridge": the command's name
// Error(Usage) naming the method and the choices; `where` prefixes the message.
MethodKind parse_method_kind(std::string_view name, const std::string& where, bool format_error = false);

// How the selected rows are computed. Only the fields of `kind` are used (and printed, stored, compared).
struct MethodSpec {
  MethodKind kind = MethodKind::Restore;
  double alpha = 1.0;                  // blend: weight of base (1 = restore, 0 = SFT); procrustes: aligned base vs SFT
  std::map<int, double> layer_alphas;  // blend: per-layer alphas overriding `alpha` (--alpha-file, --layer-alphas)
  std::string granularity = "group";   // procrustes: one rotation per KV group (group) or per layer (layer)
  double lambda = 1.0;                 // ridge: strength, in the units of W_K W_K^T
  // The parameters a command starts from before its options: blend 0.5, procrustes 1, ridge lambda 1.
  static MethodSpec defaults(MethodKind kind);
  bool operator==(const MethodSpec& other) const;  // on the fields `kind` uses
};

// One unit of a class selection (`--take`, docs/repair-spec.md): a tensor class (families.json
// tensor_classes: a leaf such as mlp.down or a group such as mlp, attn.qk) in a range of layers,
// optionally cut to KV groups, optionally blended. Its text: CLASS@LAYERS[:GROUPS][:WEIGHT], or
// CLASS[:WEIGHT] outside the layer stack: "mlp@0-3:0.25", "attn.qk@3:3", "attn.qk@3:*:0.5", "embed".
struct TakeItem {
  std::string tensor_class;
  bool all_layers = false;                     // @*: every layer that holds the class
  std::optional<std::pair<int, int>> layers;   // @N or @N-M: first and last layer
  std::optional<LayerHeadRequest> heads;       // :GROUPS (attn.q, attn.k, attn.qk): as one token of --heads
  std::optional<double> weight;                // :WEIGHT in [0, 1], base's share; none: the method's (restore 1)
  // Error(Usage) naming `where`, the item and the part that is wrong.
  static TakeItem parse(std::string_view text, const std::string& where);
  std::string to_string() const;  // canonical; parses back to the same item
  bool operator==(const TakeItem&) const = default;
};
// Items joined by commas; Error(Usage) naming `option`, the whole text and the bad item.
std::vector<TakeItem> parse_take(const std::string& text, const std::string& option);
std::string take_text(const std::vector<TakeItem>& items);

// Which tensors, and which rows of them, come from base. Empty: the Q/K rows of every global layer.
// With --take alone, only the classes it names; with --layers or --heads too, those Q/K rows and the classes.
struct Selection {
  std::optional<std::set<int>> layers;       // --layers: replaces the default choice of layers
  std::optional<std::string> tensors_regex;  // --tensors: restricts to / extends by matching tensor names
  std::optional<std::string> exclude_regex;  // --exclude: selected tensors left as SFT's
  std::optional<HeadSpec> heads;             // --heads: only these KV groups / query heads
  bool include_sliding = false;              // --include-sliding
  bool include_gate = false;                 // --include-gate
  bool with_qk_norm = false;                 // --with-qk-norm
  std::vector<TakeItem> take;                // --take: tensor classes by layer, with weights
  bool operator==(const Selection&) const = default;
};

struct RepairSpec {
  MethodSpec method;
  Selection selection;

  // The options of `kind`'s command (flag then value, or the flag alone for a switch), as a user
  // types them; validated as the command line is: Error(Usage) naming the option and the bad token.
  static RepairSpec parse_args(MethodKind kind, std::span<const std::string> args);
  // The canonical options, in the option table's order, values unquoted; parse_args gives the spec back.
  std::vector<std::string> to_args() const;
  // "qkrestore METHOD --base BASE --sft SFT --out OUT OPTIONS", shell-quoted where needed.
  std::string command(const std::string& base, const std::string& sft, const std::string& out) const;
  // "restore", "blend a=0.5 heads=3:0", "restore layers=3 +qk-norm": stable, a cache key.
  std::string label() const;

  // {"method": NAME, "method_options": {...}, "options": {...}}: the fields of qkrestore.json.
  nlohmann::json to_json() const;
  nlohmann::json method_options_json() const;  // "method_options" alone
  nlohmann::json selection_json() const;       // "options" alone
  // Reads those fields of `j` (a qkrestore.json, or a spec written by to_json); missing fields take
  // the defaults older files imply. Error(Format) naming `where` and the field.
  static RepairSpec from_json(const nlohmann::json& j, const std::string& where);

  // The one method factory. Error(Usage) for a parameter out of range (an alpha outside [0, 1] ...).
  std::unique_ptr<SurgeryMethod> make_method() const;
  // What the selection alone cannot check: a per-layer alpha for a layer the plan does not change.
  void check_against(const SurgeryPlan& plan) const;

  bool operator==(const RepairSpec&) const = default;
};

// One option of a repair as the commands spell it: the CLI layer binds these (cli/surgery_args.cpp),
// the codec parses and prints them; neither knows the options by name.
struct RepairOption {
  const char* flag;        // "--heads"
  const char* value_name;  // "SPEC"; nullptr for a switch
  const char* help;
  std::set<MethodKind> methods;  // the commands that take it
  bool selection;                // part of the selection (plan takes these too), not of a method
};
std::span<const RepairOption> repair_options();

}  // namespace qk
