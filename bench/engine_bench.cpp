// engine_bench: the embedded engine's speed against this machine's own limits, measured in one run.
//   1. the GEMM FLOP rate of the engine's own prefill product (matmul_wt at the prefill's shape, f32 or bf16
//      weights: the prefill yardstick) and of OpenBLAS's threaded sgemm, and memory bandwidth, STREAM-style copy and plain
//      read (the decode yardsticks), each measured before and after the model runs and averaged, since on
//      a shared machine the load changes during the run
//   2. a random qwen3_next model of realistic proportions (built in memory, fp32 or with --bf16 1 bf16)
//   3. prefill of a 4K-token prompt: model FLOPs / time, as a fraction of the sgemm rate
//   4. decode: bytes of weights read per token / time per token, as a fraction of the bandwidths
//   5. per-sequence memory of the linear-attention layers at 1K and 4K context (must not grow)
// Usage: engine_bench [--tokens 4096] [--decode 32] [--bf16 0|1] [--json out.json]
#include <cblas.h>

#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/causal_lm.hpp"
#include "engine/matmul.hpp"
#include "io/dtype.hpp"
#include "engine/op_timer.hpp"
#include "util/thread_pool.hpp"
#include "yardsticks.hpp"

using namespace qk::engine;
using qk::parallel_for;
using qk::worker_threads;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// Process CPU seconds (all threads): on a shared machine the ratio of work per CPU-second is steadier
// than wall-clock rates, which depend on what else runs.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// Best-of-3 sgemm at the prefill's shape: [tokens, hidden] x [hidden, out].
double sgemm_cpu_gflops = 0;  // per CPU-second, set by sgemm_gflops
double sgemm_gflops(int m, int n, int k) {
  std::vector<float> a(static_cast<std::size_t>(m) * k, 0.5f), b(static_cast<std::size_t>(n) * k, 0.25f),
      c(static_cast<std::size_t>(m) * n);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t = Clock::now();
    const double c0 = cpu_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
    best = std::max(best, 2.0 * m * n * k / seconds_since(t) / 1e9);
    sgemm_cpu_gflops = std::max(sgemm_cpu_gflops, 2.0 * m * n * k / (cpu_seconds() - c0) / 1e9);
  }
  return best;
}

// Best-of-3 STREAM-style copy (b = a over 512 MiB arrays, 16 parts on the pool's threads), counting bytes
// read plus bytes written as STREAM does.
double copy_bandwidth_gbs() {
  const std::size_t n = (std::size_t{1} << 29) / sizeof(float);
  std::vector<float> a(n, 1.0f), b(n, 0.0f);
  const std::size_t parts = 16;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t = Clock::now();
    parallel_for(parts, [&](std::size_t p) {
      const std::size_t begin = p * (n / parts), end = p + 1 == parts ? n : begin + n / parts;
      std::memcpy(b.data() + begin, a.data() + begin, (end - begin) * sizeof(float));
    });
    best = std::max(best, 2.0 * n * sizeof(float) / seconds_since(t) / 1e9);
  }
  return best;
}

struct Yardsticks {
  double gemm_gflops, sgemm_gflops, copy_gbs, read_gbs;
};
bool bf16_weights = false;

// The sgemm yardstick is OpenBLAS's own, threaded over all cores; the engine keeps OpenBLAS at one thread
// (its pool splits the products), so the setting is switched for the measurement only.
Yardsticks measure_yardsticks(std::size_t tokens, int hidden, const char* when) {
  const int engine_setting = openblas_get_num_threads();
  openblas_set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
  const double sgemm = sgemm_gflops(static_cast<int>(tokens), 4096, hidden);
  openblas_set_num_threads(engine_setting);
  const double gemm = qk::bench::engine_gemm(tokens, 4096, static_cast<std::size_t>(hidden), bf16_weights).wall;
  Yardsticks y{gemm, sgemm, copy_bandwidth_gbs(), qk::bench::read_bandwidth().wall};
  std::printf("%s: engine GEMM (%s weights) %zux4096x%d %.1f GFLOP/s; OpenBLAS sgemm %.1f GFLOP/s (%.1f per CPU-second), "
              "copy %.1f GB/s, read %.1f GB/s\n", when, bf16_weights ? "bf16" : "f32", tokens, hidden, y.gemm_gflops,
              y.sgemm_gflops, sgemm_cpu_gflops, y.copy_gbs, y.read_gbs);
  return y;
}

double load_average() {
  double load = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

// A Qwen3-Next-shaped model: 3 Gated DeltaNet layers per full-attention layer, head dims 128, GQA.
nlohmann::json bench_config() {
  return {{"model_type", "qwen3_next"}, {"vocab_size", 32000}, {"hidden_size", 1024}, {"intermediate_size", 2816},
          {"num_hidden_layers", 8}, {"num_attention_heads", 8}, {"num_key_value_heads", 2}, {"head_dim", 128},
          {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e6}, {"partial_rotary_factor", 0.25}}},
          {"linear_num_key_heads", 8}, {"linear_num_value_heads", 16}, {"linear_key_head_dim", 128},
          {"linear_value_head_dim", 128}, {"linear_conv_kernel_dim", 4}, {"num_experts", 0},
          {"tie_word_embeddings", true}, {"max_position_embeddings", 65536}, {"full_attention_interval", 4}};
}

MemoryWeights random_weights(const nlohmann::json& c) {
  const std::int64_t H = c["hidden_size"], I = c["intermediate_size"], V = c["vocab_size"];
  const std::int64_t nh = c["num_attention_heads"], nkv = c["num_key_value_heads"], hd = c["head_dim"];
  const std::int64_t nk = c["linear_num_key_heads"], nv = c["linear_num_value_heads"], dk = c["linear_key_head_dim"],
                     dv = c["linear_value_head_dim"], K = c["linear_conv_kernel_dim"];
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  MemoryWeights w(bf16_weights);
  auto put = [&](const std::string& name, std::vector<std::int64_t> shape, float fill = NAN) {
    std::int64_t count = 1;
    for (auto d : shape) count *= d;
    std::vector<float> v(static_cast<std::size_t>(count));
    for (auto& x : v) x = std::isnan(fill) ? normal(gen) : fill;
    w.put(name, shape, std::move(v));
  };
  put("model.embed_tokens.weight", {V, H});
  put("model.norm.weight", {H}, 0.0f);
  const std::int64_t layers = c["num_hidden_layers"];
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    put(p + "input_layernorm.weight", {H}, 0.0f);
    put(p + "post_attention_layernorm.weight", {H}, 0.0f);
    if ((i + 1) % 4) {
      put(p + "linear_attn.in_proj_qkvz.weight", {2 * nk * dk + 2 * nv * dv, H});
      put(p + "linear_attn.in_proj_ba.weight", {2 * nv, H});
      put(p + "linear_attn.conv1d.weight", {2 * nk * dk + nv * dv, 1, K});
      put(p + "linear_attn.dt_bias", {nv}, 1.0f);
      put(p + "linear_attn.A_log", {nv}, 0.0f);
      put(p + "linear_attn.norm.weight", {dv}, 1.0f);
      put(p + "linear_attn.out_proj.weight", {H, nv * dv});
    } else {
      put(p + "self_attn.q_proj.weight", {2 * nh * hd, H});
      put(p + "self_attn.k_proj.weight", {nkv * hd, H});
      put(p + "self_attn.v_proj.weight", {nkv * hd, H});
      put(p + "self_attn.o_proj.weight", {H, nh * hd});
      put(p + "self_attn.q_norm.weight", {hd}, 0.0f);
      put(p + "self_attn.k_norm.weight", {hd}, 0.0f);
    }
    put(p + "mlp.gate_proj.weight", {I, H});
    put(p + "mlp.up_proj.weight", {I, H});
    put(p + "mlp.down_proj.weight", {H, I});
  }
  return w;
}

// FLOPs of a forward over `tokens` new tokens after `past`: 2 per weight per token for every projection
// (lm_head for the last token only), plus attention's QK^T and PV (causal: half the square), plus the
// chunked delta rule (about 3 dk x dv products and 2 C x (dk + dv) per token per value head).
double forward_flops(const nlohmann::json& c, double tokens, double past) {
  const double H = c["hidden_size"], I = c["intermediate_size"], V = c["vocab_size"];
  const double nh = c["num_attention_heads"], nkv = c["num_key_value_heads"], hd = c["head_dim"];
  const double nk = c["linear_num_key_heads"], nv = c["linear_num_value_heads"], dk = c["linear_key_head_dim"],
               dv = c["linear_value_head_dim"];
  const int layers = c["num_hidden_layers"];
  double per_token = 0, attention = 0, delta = 0;
  for (int i = 0; i < layers; ++i) {
    per_token += 2 * 3 * H * I;
    if ((i + 1) % 4) {
      per_token += 2 * H * (2 * nk * dk + 2 * nv * dv + 2 * nv) + 2 * nv * dv * H;
      delta += tokens * nv * 2 * (3 * dk * dv + 64 * (dk + dv));
    } else {
      per_token += 2 * H * (2 * nh * hd + 2 * nkv * hd) + 2 * nh * hd * H;
      const double pairs = tokens * past + tokens * (tokens + 1) / 2;
      attention += 2 * 2 * pairs * hd * nh;
    }
  }
  return per_token * tokens + attention + delta + 2 * H * V;
}

// Where the time of the last phase went, per kind of operation (wall clock), and the rest.
nlohmann::json print_breakdown(double total_seconds) {
  nlohmann::json j;
  double timed = 0;
  const auto seconds = op_seconds();
  for (std::size_t i = 0; i < seconds.size(); ++i) {
    if (seconds[i] == 0) continue;
    std::printf("    %-26s %8.3f s  %5.1f%%\n", std::string(op_name(static_cast<Op>(i))).c_str(), seconds[i],
                100 * seconds[i] / total_seconds);
    j[std::string(op_name(static_cast<Op>(i)))] = seconds[i];
    timed += seconds[i];
  }
  std::printf("    %-26s %8.3f s  %5.1f%%\n", "other", total_seconds - timed, 100 * (total_seconds - timed) / total_seconds);
  j["other"] = total_seconds - timed;
  reset_op_times();
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t tokens = 4096, decode_steps = 32;
  std::string json_out;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tokens")) tokens = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--decode")) decode_steps = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--json")) json_out = argv[i + 1];
    else if (!std::strcmp(argv[i], "--bf16")) bf16_weights = std::string(argv[i + 1]) == "1";
  }
  std::printf("threads: %zu (engine pool), hardware %u\n", worker_threads(), std::thread::hardware_concurrency());
  const auto config = bench_config();
  const double load_before = load_average();
  const Yardsticks before = measure_yardsticks(tokens, config["hidden_size"].get<int>(), "yardsticks before");

  auto t = Clock::now();
  auto model = make_causal_lm(config, random_weights(config));
  std::printf("model: %.0f MB of weights, %.0f MB read per decode token (built in %.1f s)\n", model->info().weight_bytes / 1e6,
              model->info().active_weight_bytes_per_token / 1e6, seconds_since(t));

  std::mt19937 gen(1);
  std::vector<std::int32_t> prompt(tokens);
  for (auto& id : prompt) id = static_cast<std::int32_t>(gen() % 32000);

  // Prefill in one forward (the 1K-token prefill chunk of generate() is reported alongside).
  SequenceState state = model->new_sequence();
  enable_op_timing(true);
  reset_op_times();
  t = Clock::now();
  const double c0 = cpu_seconds();
  Segment seg{&state, prompt};
  auto logits = model->forward({&seg, 1}, LogitsFor::LastToken);
  const double prefill_s = seconds_since(t);
  const double prefill_gflops = forward_flops(config, tokens, 0) / prefill_s / 1e9;
  const double prefill_cpu_s = cpu_seconds() - c0;
  const double prefill_cpu_gflops = forward_flops(config, tokens, 0) / prefill_cpu_s / 1e9;
  std::printf("prefill %zu tokens: %.2f s, %.0f tok/s, %.1f GFLOP/s (per CPU-second %.1f)\n", tokens, prefill_s,
              tokens / prefill_s, prefill_gflops, prefill_cpu_gflops);
  const auto prefill_breakdown = print_breakdown(prefill_s);

  SequenceState chunked = model->new_sequence();
  t = Clock::now();
  for (std::size_t from = 0; from < tokens; from += 1024) {
    Segment piece{&chunked, std::span(prompt).subspan(from, std::min<std::size_t>(1024, tokens - from))};
    model->forward({&piece, 1}, LogitsFor::LastToken);
  }
  const double chunked_s = seconds_since(t);
  reset_op_times();
  const double chunked_gflops = forward_flops(config, tokens, 0) / chunked_s / 1e9;
  std::printf("prefill in 1K chunks: %.2f s, %.1f GFLOP/s\n", chunked_s, chunked_gflops);

  // Decode: one token at a time after the prompt.
  std::int32_t token = static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  t = Clock::now();
  for (std::size_t i = 0; i < decode_steps; ++i) {
    Segment one{&state, {&token, 1}};
    logits = model->forward({&one, 1}, LogitsFor::LastToken);
    token = static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  const double per_token = seconds_since(t) / decode_steps;
  // Bytes per step: the weights, plus the KV cache of the attention layers and the recurrent states.
  double cache_bytes = 0;
  for (const auto& l : state.layers) cache_bytes += (l.keys.size() + l.values.size() + 2 * l.recurrent.size()) * sizeof(float);
  const double decode_gbs = (model->info().active_weight_bytes_per_token + cache_bytes) / per_token / 1e9;
  std::printf("decode at %zu context: %.1f ms/token, %.1f tok/s, %.1f GB/s\n", tokens, per_token * 1e3, 1 / per_token,
              decode_gbs);
  const auto decode_breakdown = print_breakdown(per_token * decode_steps);

  // Batched decode: 4 sequences per step read the weights once.
  std::vector<SequenceState> states;
  for (int s = 0; s < 4; ++s) {
    states.push_back(model->new_sequence());
    Segment p{&states.back(), std::span(prompt).subspan(0, std::min<std::size_t>(256, tokens))};
    model->forward({&p, 1}, LogitsFor::LastToken);
  }
  std::vector<std::int32_t> batch_tokens(4, 1);
  reset_op_times();
  t = Clock::now();
  for (std::size_t i = 0; i < decode_steps; ++i) {
    std::vector<Segment> segs;
    for (int s = 0; s < 4; ++s) segs.push_back({&states[s], {&batch_tokens[s], 1}});
    model->forward(segs, LogitsFor::LastToken);
  }
  const double batch_step = seconds_since(t) / decode_steps;
  std::printf("batched decode (4 sequences): %.1f ms/step, %.1f tok/s (%.1f GB/s of weights)\n", batch_step * 1e3,
              4 / batch_step, model->info().active_weight_bytes_per_token / batch_step / 1e9);
  print_breakdown(batch_step * decode_steps);
  enable_op_timing(false);

  // The ratios, against the mean of the yardsticks measured before and after.
  const Yardsticks after = measure_yardsticks(tokens, config["hidden_size"].get<int>(), "yardsticks after");
  const double load_after = load_average();
  const double peak = (before.gemm_gflops + after.gemm_gflops) / 2;
  const double sgemm_peak = (before.sgemm_gflops + after.sgemm_gflops) / 2;
  const double copy = (before.copy_gbs + after.copy_gbs) / 2, read = (before.read_gbs + after.read_gbs) / 2;
  std::printf("RATIOS (load average %.1f before, %.1f after, on %u cores):\n", load_before, load_after,
              std::thread::hardware_concurrency());
  std::printf("  prefill %zu tokens: %.1f GFLOP/s = %.0f%% of the engine's GEMM %.1f (wall clock), %.0f%% of OpenBLAS "
              "sgemm %.1f\n", tokens, prefill_gflops, 100 * prefill_gflops / peak, peak, 100 * prefill_gflops / sgemm_peak, sgemm_peak);
  std::printf("  prefill in 1K chunks: %.0f%% of the engine's GEMM\n", 100 * chunked_gflops / peak);
  std::printf("  prefill cores used: %.2f (CPU-seconds / wall seconds; other processes take the rest)\n",
              prefill_cpu_s / prefill_s);
  std::printf("  decode: %.1f GB/s = %.0f%% of copy bandwidth %.1f GB/s, %.0f%% of read bandwidth %.1f GB/s\n",
              decode_gbs, 100 * decode_gbs / copy, copy, 100 * decode_gbs / read, read);

  // Memory of one sequence: linear-attention layers constant, attention KV linear in context.
  auto linear_bytes = [](const SequenceState& s) {
    double b = 0;
    for (const auto& l : s.layers) b += (l.conv.size() + l.recurrent.size()) * sizeof(float);
    return b;
  };
  SequenceState short_state = model->new_sequence();
  Segment p1k{&short_state, std::span(prompt).subspan(0, std::min<std::size_t>(1024, tokens))};
  model->forward({&p1k, 1}, LogitsFor::LastToken);
  std::printf("linear-layer state: %.2f MB at 1K context, %.2f MB at %zu; KV cache %.2f MB at %zu\n",
              linear_bytes(short_state) / 1e6, linear_bytes(state) / 1e6, state.position,
              (state.bytes() - linear_bytes(state)) / 1e6, state.position);

  if (!json_out.empty()) {
    nlohmann::json j{{"threads", worker_threads()},
                     {"load_average_before", load_before},
                     {"load_average_after", load_after},
                     {"bf16_weights", bf16_weights},
                     {"gemm_gflops", peak},
                     {"gemm_gflops_before_after", {before.gemm_gflops, after.gemm_gflops}},
                     {"sgemm_gflops", sgemm_peak},
                     {"copy_bandwidth_gbs", copy},
                     {"read_bandwidth_gbs", read},
                     {"prefill_tokens", tokens},
                     {"prefill_seconds", prefill_s},
                     {"prefill_gflops", prefill_gflops},
                     {"prefill_fraction_of_gemm", prefill_gflops / peak},
                     {"sgemm_gflops_per_cpu_second", sgemm_cpu_gflops},
                     {"prefill_gflops_per_cpu_second", prefill_cpu_gflops},
                     {"prefill_cores_used", prefill_cpu_s / prefill_s},
                     {"prefill_cpu_fraction_of_sgemm", prefill_cpu_gflops / sgemm_cpu_gflops},
                     {"decode_ms_per_token", per_token * 1e3},
                     {"decode_gbs", decode_gbs},
                     {"decode_fraction_of_copy_bandwidth", decode_gbs / copy},
                     {"decode_fraction_of_read_bandwidth", decode_gbs / read},
                     {"prefill_1k_chunks_fraction_of_gemm", chunked_gflops / peak},
                     {"batched4_tokens_per_s", 4 / batch_step},
                     {"linear_state_bytes_1k", linear_bytes(short_state)},
                     {"linear_state_bytes_full", linear_bytes(state)},
                     {"prefill_seconds_by_op", prefill_breakdown},
                     {"decode_seconds_by_op", decode_breakdown}};
    std::ofstream(json_out) << j.dump(2) << "\n";
  }
  return 0;
}
