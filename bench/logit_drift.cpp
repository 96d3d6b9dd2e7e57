// logit_drift: how far the engine's logits move with bf16 weights and with flushed denormals, over every
// engine parity reference (testdata/engine: transformers-made prompts and checkpoints, among them the shipped
// models). For each reference the prompt is prefilled once (every position's logits) by
//   f32:        the checkpoint decoded to f32 at load (the engine before bf16 weights), denormals kept
//   bf16:       bf16 weights as stored (f32 checkpoints stay f32), denormals flushed (the engine now)
//   bf16 keep:  bf16 weights, denormals kept
// and the differences are summarised as max |d| and the standard deviation of d over all logits, with the max
// |d| of each against transformers at the reference's stored positions (the parity test's tolerance: 1e-3).
//   build/bench/logit_drift [--data testdata/engine]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/causal_lm.hpp"
#include "engine/flush_denormals.hpp"
#include "io/checkpoint.hpp"
#include "util/json.hpp"

namespace fs = std::filesystem;
using namespace qk::engine;

namespace {

// The checkpoint's tensors with every matrix decoded to f32 at load, as the engine held them before.
class F32Weights final : public WeightSource {
 public:
  explicit F32Weights(const CheckpointWeights& inner) : inner_(inner) {}
  bool has(std::string_view name) const override { return inner_.has(name); }
  std::vector<float> load(std::string_view name, const Shape& expected) const override { return inner_.load(name, expected); }
  std::string label() const override { return inner_.label(); }  // matrix(): WeightSource's, f32

 private:
  const CheckpointWeights& inner_;
};

std::vector<float> prefill(CausalLM& model, const std::vector<std::int32_t>& prompt, bool flush) {
  set_flush_denormals(flush);
  SequenceState state = model.new_sequence();
  const Segment seg{&state, prompt};
  return model.forward({&seg, 1}, LogitsFor::AllTokens);
}

struct Drift {
  double max = 0, sum = 0, sum_sq = 0;
  std::size_t n = 0;
  void add(const std::vector<float>& a, const std::vector<float>& b) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double d = static_cast<double>(a[i]) - b[i];
      max = std::max(max, std::fabs(d)), sum += d, sum_sq += d * d, ++n;
    }
  }
  double stddev() const { return n ? std::sqrt(std::max(0.0, sum_sq / n - (sum / n) * (sum / n))) : 0; }
};

double max_vs_reference(const std::vector<float>& logits, const std::vector<float>& reference,
                        const std::vector<std::size_t>& positions, std::size_t vocab) {
  double worst = 0;
  for (std::size_t i = 0; i < positions.size(); ++i)
    for (std::size_t v = 0; v < vocab; ++v)
      worst = std::max(worst, std::fabs(static_cast<double>(logits[positions[i] * vocab + v]) - reference[i * vocab + v]));
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path data = argc > 2 && std::string(argv[1]) == "--data" ? fs::path(argv[2]) : fs::path(QK_SOURCE_DIR) / "testdata/engine";
  std::printf("| reference | tokens | bf16 vs f32: max / std | flush vs keep: max / std | vs transformers: f32, bf16, bf16 keep |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  Drift all_weights, all_flush;
  for (const auto& dir : fs::directory_iterator(data)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path())) {
      if (f.path().extension() != ".json" || !fs::exists(dir.path() / (f.path().stem().string() + ".logits.bin"))) continue;
      const auto ref = qk::read_json_file(f.path());
      const fs::path model_dir = ref.contains("model_dir") ? fs::path(QK_SOURCE_DIR) / ref["model_dir"].get<std::string>() : dir.path();
      if (!fs::exists(model_dir / "config.json")) continue;
      const auto prompt = ref["prompt"].get<std::vector<std::int32_t>>();
      const auto positions = ref["positions"].get<std::vector<std::size_t>>();
      const std::size_t vocab = ref["vocab_size"];
      std::vector<float> reference(positions.size() * vocab);
      std::ifstream(dir.path() / ref["logits_file"].get<std::string>(), std::ios::binary)
          .read(reinterpret_cast<char*>(reference.data()), static_cast<std::streamsize>(reference.size() * sizeof(float)));

      auto checkpoint = std::make_shared<const qk::Checkpoint>(model_dir);
      const CheckpointWeights weights(checkpoint);
      auto as_stored = make_causal_lm(checkpoint->config(), weights);
      auto as_f32 = make_causal_lm(checkpoint->config(), F32Weights(weights));
      const auto f32 = prefill(*as_f32, prompt, false);
      const auto bf16 = prefill(*as_stored, prompt, true);
      const auto bf16_keep = prefill(*as_stored, prompt, false);
      Drift weights_drift, flush_drift;
      weights_drift.add(bf16_keep, f32);
      flush_drift.add(bf16, bf16_keep);
      all_weights.add(bf16_keep, f32);
      all_flush.add(bf16, bf16_keep);
      std::printf("| %s/%s | %zu | %.3g / %.3g | %.3g / %.3g | %.3g, %.3g, %.3g |\n", dir.path().filename().c_str(),
                  f.path().stem().c_str(), prompt.size(), weights_drift.max, weights_drift.stddev(), flush_drift.max,
                  flush_drift.stddev(), max_vs_reference(f32, reference, positions, vocab),
                  max_vs_reference(bf16, reference, positions, vocab), max_vs_reference(bf16_keep, reference, positions, vocab));
    }
  }
  std::printf("all references: bf16 vs f32 max %.3g std %.3g; flushing denormals max %.3g std %.3g (%zu logits)\n",
              all_weights.max, all_weights.stddev(), all_flush.max, all_flush.stddev(), all_flush.n);
}
