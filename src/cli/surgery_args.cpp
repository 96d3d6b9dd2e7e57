#include "cli/surgery_args.hpp"

#include <climits>
#include <sstream>

#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::cli {

namespace {
std::string g_command_line;

std::set<int> parse_layer_list(const std::string& text) {
  // "3,7,11" or "0-3,8"
  std::set<int> layers;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const std::string where = fmt::format("--layers '{}': '{}' is not a layer index or range like 4-7", text, item);
    const std::size_t dash = item.find('-');
    const int from = parse_layer_index(item.substr(0, dash), where, ErrorKind::Usage);
    const int to = dash == std::string::npos ? from : parse_layer_index(item.substr(dash + 1), where, ErrorKind::Usage);
    if (to < from) fail(ErrorKind::Usage, "{}", where);
    for (int i = from; i <= to; ++i) layers.insert(i);
  }
  if (layers.empty()) fail(ErrorKind::Usage, "--layers '{}' names no layer", text);
  return layers;
}
}  // namespace

std::vector<int> parse_lengths(const std::string& text) {
  std::vector<int> lengths;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    int multiplier = 1;
    if (!item.empty() && (item.back() == 'K' || item.back() == 'k')) multiplier = 1024, item.pop_back();
    if (!item.empty() && (item.back() == 'M' || item.back() == 'm')) multiplier = 1024 * 1024, item.pop_back();
    const std::int64_t value = parse_int(item, fmt::format("--lengths: '{}' (e.g. 4096, 4K, 1M)", text.substr(start, end - start)), 1,
                                         INT_MAX / multiplier, ErrorKind::Usage);
    lengths.push_back(static_cast<int>(value) * multiplier);
    start = end + 1;
  }
  if (lengths.empty()) fail(ErrorKind::Usage, "--lengths is empty");
  return lengths;
}

void remember_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    bool plain = arg.find_first_of(" \t\"'\\$`*?[]|&;<>()") == std::string::npos && !arg.empty();
    if (i) g_command_line += ' ';
    g_command_line += plain ? arg : "'" + arg + "'";
  }
}

std::string command_line() { return g_command_line; }

void PairArgs::bind(CLI::App& app, bool selection_options) {
  app.add_option("--base", base, "pre-SFT checkpoint directory (read only)")->required()->check(CLI::ExistingDirectory);
  app.add_option("--sft", sft, "CoT-SFT checkpoint directory (read only)")->required()->check(CLI::ExistingDirectory);
  app.add_option("--arch-file", arch_file, "extra architecture table (families.json schema) for families not built in")
      ->check(CLI::ExistingFile);
  if (!selection_options) return;
  app.add_option("--layers", layers, "restore these layers instead of the global ones, e.g. 3,7 or 0-3");
  app.add_option("--tensors", tensors, "only tensors whose name matches REGEX (others of the selected layers are added whole)");
  app.add_option("--heads", heads, "only these KV groups / query heads: 3:0, 3:0-1, 7:*, 3:q5, joined by commas (docs/heads.md)");
  app.add_flag("--include-sliding", include_sliding, "also restore sliding-window attention layers");
  app.add_flag("--include-gate", include_gate, "restore the output-gate rows of gated query projections too");
  app.add_flag("--with-qk-norm", with_qk_norm, "restore q/k norm weights too (they stay SFT by default)");
}

SurgeryOptions PairArgs::surgery_options() const {
  SurgeryOptions o;
  if (!layers.empty()) o.layers = parse_layer_list(layers);
  if (!tensors.empty()) o.tensors_regex = tensors;
  if (!heads.empty()) o.heads = HeadSpec::parse(heads).to_string();  // parse errors before any file is read
  o.include_sliding = include_sliding;
  o.include_gate = include_gate;
  o.with_qk_norm = with_qk_norm;
  return o;
}

FamilyTable PairArgs::family_table() const {
  FamilyTable table = FamilyTable::builtin();
  if (!arch_file.empty()) table.merge(FamilyTable::from_file(arch_file));
  return table;
}

void OutputArgs::bind(CLI::App& app) {
  app.add_option("--out", out, "output directory (created atomically; must not exist unless --force)")->required();
  app.add_flag("--force", force, "replace an existing output directory");
  app.add_option("--max-shard-size", max_shard_size, "reshard the output, e.g. 5GB (default: keep SFT's shards)");
  app.add_flag("--quiet,-q", quiet, "no progress on stderr");
  app.add_flag("--fsync", fsync,
               "put every output file on disk (fsync) before OUT is installed, for power-loss safety; "
               "by default the output may still be in the page cache when the command returns, as after cp");
}

OutputOptions OutputArgs::output_options(const SurgeryOptions& surgery, const std::string& line) const {
  OutputOptions o;
  o.out = out;
  o.overwrite = force;
  if (!max_shard_size.empty()) o.max_shard_size = parse_byte_size(max_shard_size);
  o.quiet = quiet;
  o.fsync = fsync;
  o.command_line = line;
  o.surgery_options = surgery;
  return o;
}

}  // namespace qk::cli
