#include "cli/surgery_args.hpp"

#include <climits>
#include <sstream>

#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::cli {

namespace {
std::string g_command_line;

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

void PairArgs::bind(CLI::App& app, std::optional<MethodKind> method) {
  app.add_option("--base", base, "pre-SFT checkpoint directory (read only)")->required()->check(CLI::ExistingDirectory);
  app.add_option("--sft", sft, "CoT-SFT checkpoint directory (read only)")->required()->check(CLI::ExistingDirectory);
  app.add_option("--arch-file", arch_file, "extra architecture table (families.json schema) for families not built in")
      ->check(CLI::ExistingFile);
  method_ = method;
  if (!method) return;
  for (const RepairOption& o : repair_options()) {
    if (!o.methods.count(*method)) continue;
    CLI::Option* option = o.value_name ? app.add_option(o.flag, values_[o.flag], o.help)->type_name(o.value_name)
                                       : app.add_flag(o.flag, switches_[o.flag], o.help);
    bound_.emplace_back(o.flag, option);
  }
}

bool PairArgs::given(const std::string& flag) const {
  for (const auto& [name, option] : bound_)
    if (name == flag) return option->count() > 0;
  return false;
}

RepairSpec PairArgs::repair_spec() const {
  std::vector<std::string> args;
  for (const auto& [flag, option] : bound_) {
    if (option->count() == 0) continue;
    args.push_back(flag);
    if (auto value = values_.find(flag); value != values_.end()) args.push_back(value->second);
  }
  return RepairSpec::parse_args(method_.value_or(MethodKind::Restore), args);
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
               "put every output file and then the directory entries on disk (fsync) around installing OUT, for "
               "power-loss safety; "
               "by default the output may still be in the page cache when the command returns, as after cp");
}

OutputOptions OutputArgs::output_options(const Selection& selection, const std::string& line) const {
  OutputOptions o;
  o.out = out;
  o.overwrite = force;
  if (!max_shard_size.empty()) o.max_shard_size = parse_byte_size(max_shard_size);
  o.quiet = quiet;
  o.fsync = fsync;
  o.command_line = line;
  o.selection = selection;
  return o;
}

}  // namespace qk::cli
