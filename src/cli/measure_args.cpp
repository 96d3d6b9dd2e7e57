#include "cli/measure_args.hpp"

#include <filesystem>

namespace qk::cli {

void MeasureArgs::bind(CLI::App& app, bool reasoning_required) {
  app.add_option("--niah", niah, "NIAH task JSONL (qkrestore niah generate): the recall axis")->required();
  auto* problems = app.add_option("--reasoning", reasoning, "reasoning problems (GSM8K / MATH / JSONL): the reasoning axis");
  if (reasoning_required) problems->required();
  app.add_option("--format", format, "format of --reasoning: auto | gsm8k | math | jsonl")->capture_default_str();
  app.add_option("--reasoning-limit", ask.reasoning_limit, "use the first N problems (0: all)")->capture_default_str();
  app.add_option("--template", ask.reasoning_template,
                 "reasoning prompts: base | chatml | llama-3 raw templates (default: the model's chat template)");
  app.add_option("--max-tokens", ask.reasoning_max_tokens, "tokens per reasoning reply")->capture_default_str();
  app.add_option("--niah-max-tokens", ask.niah_max_tokens, "tokens per NIAH answer")->capture_default_str();
  app.add_option("--serve-cmd", serve_cmd,
                 "evaluate through your own server started per candidate, e.g. 'vllm serve {model} --port {port}' "
                 "(default: the embedded engine in-process)");
  app.add_option("--serve-timeout", serve_timeout, "seconds a server may take to answer GET /v1/models")->capture_default_str();
  app.add_option("-j,--jobs", ask.jobs, "requests in flight")->capture_default_str();
  app.add_flag("--quiet,-q", ask.quiet, "no progress on stderr");
}

sweep::AskOptions MeasureArgs::ask_options(const std::string& sft) const {
  sweep::AskOptions o = ask;
  o.reasoning_format.format = eval::parse_problem_format(format);
  o.chat_model = sft;
  return o;
}

std::unique_ptr<sweep::CandidateBackends> MeasureArgs::backends(const std::string& base, const std::string& sft, const std::string& out,
                                                                const FamilyTable& table, sweep::EmbeddedOptions embedded) const {
  if (serve_cmd.empty()) return sweep::make_embedded_candidates(base, sft, table, std::move(embedded));
  sweep::ServeOptions serve;
  serve.command = serve_cmd;
  serve.scratch = std::filesystem::path(out) / "scratch";
  serve.ready_timeout_s = serve_timeout;
  return sweep::make_served_candidates(base, sft, table, serve);
}

}  // namespace qk::cli
