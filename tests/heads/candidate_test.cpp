// In-memory candidates against the real thing: for each candidate, the engine holding SFT with the
// candidate applied in memory computes bit for bit the logits of the engine loaded from the checkpoint
// that the same surgery writes to disk; undo gives back SFT's logits bit for bit.
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "engine/causal_lm.hpp"
#include "heads/candidate.hpp"
#include "support/temp_dir.hpp"
#include "surgery/output.hpp"
#include "util/error.hpp"

namespace qk::heads {
namespace {

const std::filesystem::path kPair = test::checkpoints_dir() / "qwen3_next";  // transformers-made, bf16, MoE

std::vector<float> logits_of(engine::CausalLM& model) {
  std::vector<std::int32_t> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back((i * 7 + 3) % 64);
  engine::SequenceState state = model.new_sequence();
  const engine::Segment segment{&state, tokens};
  return model.forward(std::span<const engine::Segment>(&segment, 1), engine::LogitsFor::AllTokens);
}

void write_candidate(const Checkpoint& base, const Checkpoint& sft, const RepairSpec& c, const std::filesystem::path& out) {
  OutputOptions options;
  options.out = out;
  options.quiet = true;
  options.selection = c.selection;
  const auto method = c.make_method();
  write_output(base, sft, make_plan(base, sft, c.selection, FamilyTable::builtin()), *method, options);
}

RepairSpec candidate(MethodKind method, double alpha, std::optional<std::string> heads) {
  RepairSpec c;
  c.method = MethodSpec::defaults(method);
  c.method.alpha = alpha;
  if (heads) c.selection.heads = HeadSpec::parse(*heads);
  return c;
}

constexpr MethodKind kRestore = MethodKind::Restore, kBlend = MethodKind::Blend, kProcrustes = MethodKind::Procrustes;

RepairSpec parse(MethodKind method, const std::vector<std::string>& args) { return RepairSpec::parse_args(method, args); }

// In memory == loading the checkpoint the same repair writes, for each candidate; undo == SFT.
void expect_in_memory_equals_written(const std::filesystem::path& base_dir, const std::filesystem::path& sft_dir,
                                     const std::vector<RepairSpec>& candidates) {
  const Checkpoint base(base_dir), sft(sft_dir);
  auto model = engine::load_causal_lm(sft_dir);
  const std::vector<float> sft_logits = logits_of(*model);
  InMemorySurgery surgery(*model, base, sft, FamilyTable::builtin());
  for (const auto& c : candidates) {
    SCOPED_TRACE(c.label());
    test::TempDir dir;
    write_candidate(base, sft, c, dir / "out");
    const std::vector<float> want = logits_of(*engine::load_causal_lm(dir / "out"));
    surgery.apply(c);
    EXPECT_GT(surgery.floats_written(), 0u);
    const std::vector<float> got = logits_of(*model);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)));
    EXPECT_NE(0, std::memcmp(got.data(), sft_logits.data(), got.size() * sizeof(float)));
  }
  surgery.undo();
  const std::vector<float> back = logits_of(*model);
  EXPECT_EQ(0, std::memcmp(back.data(), sft_logits.data(), back.size() * sizeof(float)));
}

// Every class of --take, with and without weights, on the MoE + linear-attention fixture.
TEST(InMemorySurgery, EveryTensorClassEqualsLoadingTheWrittenCheckpoint) {
  expect_in_memory_equals_written(
      kPair / "base", kPair / "sft", {parse(kRestore, {"--take", "embed,lm_head:0.5,final_norm"}), parse(kRestore, {"--take", "norm@0-3:0.25"}),
              parse(kRestore, {"--take", "attn@1"}), parse(kRestore, {"--take", "attn.v@3:0.5,attn.o@3,attn.gate@1"}),
              parse(kRestore, {"--take", "linear@0:0.5"}), parse(kRestore, {"--take", "linear.decay@0-2,linear.conv@2"}),
              parse(kRestore, {"--take", "moe.experts@0,moe.router@1:0.25,moe.shared@2"}),
              parse(kRestore, {"--heads", "3:1", "--take", "ffn@0-1:0.25"}),
              parse(kBlend, {"--alpha", "0.75", "--heads", "1:0", "--take", "ffn@3,linear.in@2:0.25"})});
}

// The shipped dense pair: the pilot's class-aware repair, restore --heads 3:3 plus a 0.25 blend of
// base's MLPs 0-3, in memory.
TEST(InMemorySurgery, TheOneGroupRepairPlusAQuarterOfBasesEarlyMlps) {
  const auto models = test::source_dir() / "models";
  expect_in_memory_equals_written(models / "base", models / "cot",
                                  {parse(kRestore, {"--take", "attn.qk@3:3,mlp@0-3:0.25"}), parse(kRestore, {"--take", "mlp.down@2"})});
}

TEST(InMemorySurgery, EqualsLoadingTheWrittenCheckpointAndUndoes) {
  expect_in_memory_equals_written(kPair / "base", kPair / "sft",
                                  {candidate(kRestore, 1, std::nullopt), candidate(kRestore, 1, "1:0"), candidate(kRestore, 1, "3:q3"),
                                   candidate(kBlend, 0.5, "3:1,1:0"), candidate(kProcrustes, 1, "1:1"),
                                   candidate(kProcrustes, 0.5, std::nullopt)});
}

TEST(InMemorySurgery, OnlyTheSelectedRowsAreWritten) {
  const Checkpoint base(kPair / "base"), sft(kPair / "sft");
  auto model = engine::load_causal_lm(kPair / "sft");
  InMemorySurgery surgery(*model, base, sft, FamilyTable::builtin());
  surgery.apply(candidate(kRestore, 1, "1:0"));
  // KV group 0 of layer 1: 2 query heads x 16 rows of q_proj plus 16 key rows, 32 columns each.
  EXPECT_EQ(surgery.floats_written(), (2 * 16 + 16) * 32u);
}

TEST(InMemorySurgery, AFailedCandidateLeavesSft) {
  const Checkpoint base(kPair / "base"), sft(kPair / "sft");
  auto model = engine::load_causal_lm(kPair / "sft");
  const std::vector<float> sft_logits = logits_of(*model);
  InMemorySurgery surgery(*model, base, sft, FamilyTable::builtin());
  surgery.apply(candidate(kRestore, 1, "1:0"));
  EXPECT_THROW(surgery.apply(candidate(kProcrustes, 1, "1:q0")), Error);  // one query head cannot be aligned alone
  const std::vector<float> now = logits_of(*model);
  EXPECT_EQ(0, std::memcmp(now.data(), sft_logits.data(), now.size() * sizeof(float)));
}

// A model that holds no tensor as the checkpoint stores it (as a family whose engine keeps its weights
// transformed would): a candidate is refused naming the tensor and the command that writes it.
class HoldsNothing final : public engine::CausalLM {
 public:
  explicit HoldsNothing(std::unique_ptr<engine::CausalLM> inner) : inner_(std::move(inner)) {}
  const engine::ModelInfo& info() const override { return inner_->info(); }
  engine::SequenceState new_sequence() const override { return inner_->new_sequence(); }
  std::vector<float> forward(std::span<const engine::Segment> batch, engine::LogitsFor which) override { return inner_->forward(batch, which); }

 private:
  std::unique_ptr<engine::CausalLM> inner_;
};

TEST(InMemorySurgery, ATensorTheEngineDoesNotHoldIsRefusedNamingTheCommand) {
  const Checkpoint base(kPair / "base"), sft(kPair / "sft");
  HoldsNothing model(engine::load_causal_lm(kPair / "sft"));
  InMemorySurgery surgery(model, base, sft, FamilyTable::builtin());
  try {
    surgery.apply(parse(kRestore, {"--take", "attn.o@1"}));
    ADD_FAILURE() << "applied in memory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("o_proj"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("qkrestore restore"), std::string::npos) << e.what();
  }
}

// The probe is read-only: logits with and without it are identical; every recorded row is a
// probability distribution over the keys up to its position.
class CountingProbe final : public engine::AttentionProbe {
 public:
  bool wants(std::size_t, std::size_t position) const override { return position >= 30; }
  void record(std::size_t layer, std::size_t, std::size_t position, std::size_t, std::span<const float> p) override {
    ++rows;
    layers.insert(layer);
    EXPECT_EQ(p.size(), position + 1);
    double sum = 0;
    for (float v : p) sum += v;
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  std::size_t rows = 0;
  std::set<std::size_t> layers;
};

TEST(AttentionProbe, ReadOnlyAndDistributions) {
  auto model = engine::load_causal_lm(kPair / "sft");
  const std::vector<float> plain = logits_of(*model);
  CountingProbe probe;
  engine::editable(*model)->set_attention_probe(&probe);
  const std::vector<float> probed = logits_of(*model);
  engine::editable(*model)->set_attention_probe(nullptr);
  EXPECT_EQ(0, std::memcmp(plain.data(), probed.data(), plain.size() * sizeof(float)));
  EXPECT_EQ(probe.rows, 10u * 4 * 2);  // positions 30-39, 4 heads, 2 full-attention layers
  EXPECT_EQ(probe.layers, (std::set<std::size_t>{1, 3}));
}

}  // namespace
}  // namespace qk::heads

namespace qk::heads {
namespace {

// Prefix reuse: the residual captured entering layer 3 of SFT, run through layers 3.. of SFT with
// layer 3's group 1 restored, gives the logits of the full forward of that candidate, bit for bit.
TEST(ForwardFrom, EqualsTheFullForwardOfTheEditedModel) {
  const Checkpoint base(kPair / "base"), sft(kPair / "sft");
  auto model = engine::load_causal_lm(kPair / "sft");
  const std::size_t width = model->info().hidden_size;
  std::vector<std::int32_t> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back((i * 5 + 1) % 64);
  const std::vector<std::pair<std::size_t, std::size_t>> chunks = {{0, 25}, {25, 15}};  // as run_probes feeds them
  // Full forward (residual == nullptr) or from layer 3, chunk by chunk; logits of every token.
  auto run = [&](const std::vector<float>* residual) {
    engine::SequenceState state = model->new_sequence();
    std::vector<float> all;
    for (const auto& [at, n] : chunks) {
      const engine::Segment segment{&state, std::span<const std::int32_t>(tokens).subspan(at, n)};
      const auto part = residual ? engine::resumable(*model)->forward_from(std::span<const engine::Segment>(&segment, 1), 3,
                                                       std::span<const float>(*residual).subspan(at * width, n * width),
                                                       engine::LogitsFor::AllTokens)
                                 : model->forward(std::span<const engine::Segment>(&segment, 1), engine::LogitsFor::AllTokens);
      all.insert(all.end(), part.begin(), part.end());
    }
    return all;
  };
  std::map<std::size_t, std::vector<float>> captured{{1, {}}, {3, {}}};
  engine::resumable(*model)->set_residual_capture(&captured);
  const std::vector<float> sft_logits = run(nullptr);
  engine::resumable(*model)->set_residual_capture(nullptr);
  EXPECT_EQ(captured[3].size(), 40u * width);
  EXPECT_EQ(captured[1].size(), 40u * width);
  const std::vector<float> sft_again = run(&captured[3]);
  EXPECT_EQ(0, std::memcmp(sft_again.data(), sft_logits.data(), sft_logits.size() * sizeof(float)));
  InMemorySurgery surgery(*model, base, sft, FamilyTable::builtin());
  surgery.apply(candidate(kRestore, 1, "3:1"));
  const std::vector<float> want = run(nullptr), got = run(&captured[3]);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)));
  EXPECT_NE(0, std::memcmp(got.data(), sft_logits.data(), got.size() * sizeof(float)));
}

}  // namespace
}  // namespace qk::heads
