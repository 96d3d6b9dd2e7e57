// prompt_bench: what a user of the embedded engine waits for on one prompt, as `qkrestore generate` runs it.
//   load:    process start (the kernel's start time of this process) to the model ready for its first token
//   prefill: the prompt through generate_continuous (chunks of 1024), up to the first generated token
//   decode:  the following greedy tokens, tokens per second
//   rss:     peak resident memory (VmHWM; the mapped bf16 weights count once they are read)
//   --again: then a second prompt of the same length in the same process (each id + 1, so that no prefix is
//            reused), as a server's later requests run: weights and scratch memory already touched. Its times are
//            reported as prefill_again_s, decode_again_tok_s (and op_seconds_again with --ops)
//   --ops: seconds per kind of operation, for the prefill (up to the first token: op_seconds) and for the decode
//            steps after it (op_seconds_decode); with --again the second prompt's in op_seconds_again(_decode)
//   --yardsticks: afterwards (peak RSS already taken), the machine's read bandwidth (in 4 KiB and in 2 MiB pages,
//            read_gb_s the faster) and the engine's bf16 GEMM rate
//            at the prefill chunk's shape (1024 x 4096 x hidden), on the same threads (bench/yardsticks.hpp)
// One JSON line on stdout; the greedy tokens are listed so that bench/llama/vs_llama.sh can compare them with
// llama.cpp's. The prompt: token ids from --prompt-file (whitespace-separated), or --tokens random ids.
//   build/bench/prompt_bench MODEL_DIR [--prompt-file ids.txt | --tokens 2048] [--decode 64] [--no-flush-denormals] [--ops]
//                            [--again] [--yardsticks]
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "engine/causal_lm.hpp"
#include "engine/generate.hpp"
#include "engine/op_timer.hpp"
#include "util/thread_pool.hpp"
// The file also builds against the engine before bf16 weights (fd642c9), for side-by-side runs of the two.
#if __has_include("engine/flush_denormals.hpp")
#include "engine/flush_denormals.hpp"
#include "engine/matmul.hpp"
#define QK_BF16_ENGINE 1
#include "yardsticks.hpp"
#endif

namespace {

// Seconds since this process started, from /proc: uptime now minus the start time (in clock ticks after boot).
double seconds_since_process_start() {
  std::ifstream stat("/proc/self/stat"), uptime_file("/proc/uptime");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // fields after the command name (which may hold spaces): the start time is field 22 of the whole line
  std::size_t pos = text.rfind(')') + 2;
  unsigned long long start_ticks = 0;
  for (int field = 3; field <= 22; ++field) {
    const std::size_t end = text.find(' ', pos);
    if (field == 22) start_ticks = std::stoull(text.substr(pos, end - pos));
    pos = end + 1;
  }
  double uptime = 0;
  uptime_file >> uptime;
  return uptime - static_cast<double>(start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of all this process's threads: on a shared machine, work per CPU-second is steadier than
// wall-clock rates.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"prompt_bench: load, prefill and decode of one prompt with the embedded engine"};
  std::string model_dir, prompt_file;
  std::size_t tokens = 2048, decode = 64;
  qk::engine::GenerationLimits limits;
  bool keep_denormals = false, ops = false, again = false, yardsticks = false;
  app.add_option("model", model_dir, "Hugging Face model directory")->required();
  app.add_option("--prompt-file", prompt_file, "token ids, whitespace-separated");
  app.add_option("--tokens", tokens, "random prompt of this many tokens (without --prompt-file)");
  app.add_option("--decode", decode, "greedy tokens to generate (at least 2)")->check(CLI::Range(2, 100000));
  app.add_option("--prefill-chunk", limits.prefill_chunk, "prompt tokens per forward pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--no-flush-denormals", keep_denormals, "compute with denormal floats (the engine flushes them)");
  app.add_flag("--ops", ops, "time each kind of operation (adds a clock read per operation)");
  app.add_flag("--again", again, "then time a second prompt of the same length in the same process");
  app.add_flag("--yardsticks", yardsticks, "measure read bandwidth and the engine's bf16 GEMM rate after the run");
  CLI11_PARSE(app, argc, argv);
#ifdef QK_BF16_ENGINE
  qk::engine::set_flush_denormals(!keep_denormals);
  const char* kernel = qk::engine::bf16_kernel_name(qk::engine::bf16_kernel());
#else
  const char* kernel = "none (f32 weights)";
  keep_denormals = true;
#endif

  auto model = qk::engine::load_causal_lm(model_dir);
  qk::worker_threads();  // the pool starts here, part of being ready
  const double load_s = seconds_since_process_start();

  std::vector<std::int32_t> prompt;
  if (!prompt_file.empty()) {
    std::ifstream in(prompt_file);
    for (std::int32_t id; in >> id;) prompt.push_back(id);
  } else {
    std::mt19937 gen(1);
    std::uniform_int_distribution<std::int32_t> id(3, static_cast<std::int32_t>(model->info().vocab_size) - 1);
    for (std::size_t i = 0; i < tokens; ++i) prompt.push_back(id(gen));
  }

  using Clock = std::chrono::steady_clock;
  using OpSeconds = std::array<double, static_cast<std::size_t>(qk::engine::Op::Count)>;
  struct Run {
    OpSeconds prefill_ops{}, decode_ops{};
    double prefill_s, decode_s, prefill_cpu_s, decode_cpu_s;
    std::size_t decoded;  // tokens timed after the first
    qk::engine::GenerationResult result;
  };
  // One prompt through generate_continuous, as `qkrestore generate` runs it
  auto run = [&](const std::vector<std::int32_t>& ids) {
    qk::engine::GenerationRequest request{ids, {}};
    request.options.max_tokens = decode;
    std::vector<Clock::time_point> stamps;
    std::vector<double> cpu_stamps;
    Run r{};
    qk::engine::reset_op_times();
    request.options.on_token = [&](const qk::engine::GenerationResult&) {
      stamps.push_back(Clock::now());
      cpu_stamps.push_back(cpu_seconds());
      if (stamps.size() == 1) r.prefill_ops = qk::engine::op_seconds();
      return false;
    };
    request.options.on_finish = [&](const qk::engine::GenerationResult& done) { r.result = done; };
    bool given = false;
    const auto start = Clock::now();
    const double cpu_start = cpu_seconds();
    qk::engine::generate_continuous(*model, [&](std::size_t) {
      std::vector<const qk::engine::GenerationRequest*> admit;
      if (!given) admit.push_back(&request), given = true;
      return admit;
    }, limits);
    r.prefill_s = std::chrono::duration<double>(stamps.front() - start).count();
    r.decode_s = std::chrono::duration<double>(stamps.back() - stamps.front()).count();
    r.prefill_cpu_s = cpu_stamps.front() - cpu_start;
    r.decode_cpu_s = cpu_stamps.back() - cpu_stamps.front();
    r.decoded = stamps.size() - 1;
    r.decode_ops = qk::engine::op_seconds();
    for (std::size_t op = 0; op < r.decode_ops.size(); ++op) r.decode_ops[op] -= r.prefill_ops[op];
    return r;
  };
  auto op_seconds_json = [](const OpSeconds& seconds) {
    nlohmann::json times;
    for (std::size_t op = 0; op < seconds.size(); ++op) times[std::string(qk::engine::op_name(static_cast<qk::engine::Op>(op)))] = seconds[op];
    return times;
  };
  qk::engine::enable_op_timing(ops);
  const Run first = run(prompt);
  const auto& result = first.result;
  const double prefill_s = first.prefill_s, decode_s = first.decode_s;
  nlohmann::json out = {{"impl", "engine"},
                        {"bf16_kernel", kernel},
                        {"threads", qk::worker_threads()},
                        {"flush_denormals", !keep_denormals},
                        {"prompt_tokens", prompt.size()},
                        {"prefill_chunk", limits.prefill_chunk},
                        {"load_s", load_s},
                        {"prefill_s", prefill_s},
                        {"prefill_tok_s", prompt.size() / prefill_s},
                        {"decode_tok_s", first.decoded / decode_s},
                        {"prefill_cpu_s", first.prefill_cpu_s},
                        {"decode_cpu_s", first.decode_cpu_s},
                        {"weight_mb", model->info().weight_bytes / 1e6},
                        {"decode_weight_mb_per_token", model->info().active_weight_bytes_per_token / 1e6},
                        {"peak_rss_mb", peak_rss_mb()},
                        {"tokens", result.tokens}};
  if (ops) out["op_seconds"] = op_seconds_json(first.prefill_ops), out["op_seconds_decode"] = op_seconds_json(first.decode_ops);
  if (again) {
    std::vector<std::int32_t> shifted(prompt);
    const auto vocab = static_cast<std::int32_t>(model->info().vocab_size);
    for (auto& id : shifted) id = (id + 1) % vocab;
    const Run second = run(shifted);
    out["prefill_again_s"] = second.prefill_s;
    out["prefill_again_tok_s"] = shifted.size() / second.prefill_s;
    out["decode_again_tok_s"] = second.decoded / second.decode_s;
    out["prefill_again_cpu_s"] = second.prefill_cpu_s;
    if (ops) out["op_seconds_again"] = op_seconds_json(second.prefill_ops), out["op_seconds_again_decode"] = op_seconds_json(second.decode_ops);
  }
#ifdef QK_BF16_ENGINE
  if (yardsticks) {
    const auto read = qk::bench::read_bandwidth(qk::bench::Pages::Huge);
    const auto read_small_pages = qk::bench::read_bandwidth(qk::bench::Pages::Small);
    const auto gemm = qk::bench::engine_gemm(1024, 4096, model->info().hidden_size, true);
    // The faster of the two page sizes is the machine's limit (bench/yardsticks.hpp)
    const auto& best = read.wall >= read_small_pages.wall ? read : read_small_pages;
    out["read_gb_s"] = best.wall;
    out["read_gb_cpu_s"] = best.per_cpu_s;
    out["read_gb_s_2m_pages"] = read.wall;
    out["read_gb_s_4k_pages"] = read_small_pages.wall;
    out["gemm_gflop_s"] = gemm.wall;
    out["gemm_gflop_cpu_s"] = gemm.per_cpu_s;
  }
#endif
  std::printf("%s\n", out.dump().c_str());
}
