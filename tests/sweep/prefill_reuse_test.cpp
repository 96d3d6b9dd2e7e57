// The shared prefill (engine/prefill_reuse.hpp) against the plain path: a candidate prefilled from
// SFT's record computes bit for bit the logits of the same candidate prefilled in full, through the prompt
// and the decoding after it; and a whole in-process sweep gives the same answers with and without it.
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "engine/causal_lm.hpp"
#include "engine/prefill_reuse.hpp"
#include "heads/candidate.hpp"
#include "io/checkpoint.hpp"
#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"
#include "sweep/sweep.hpp"
#include "util/json.hpp"

namespace qk::sweep {
namespace {

namespace fs = std::filesystem;

const fs::path kModels = test::source_dir() / "models";

// The prompt in prefill chunks of 256 tokens (the service's are 1024: the size does not matter here, and
// smaller is faster), then greedy decoding: every logit row.
constexpr std::size_t kChunk = 256;
std::vector<float> prefill_and_decode(engine::CausalLM& model, const std::vector<std::int32_t>& prompt) {
  const std::size_t vocab = model.info().vocab_size;
  engine::SequenceState state = model.new_sequence();
  std::vector<float> all, last;
  for (std::size_t from = 0; from < prompt.size(); from += kChunk) {
    const engine::Segment chunk{&state, std::span(prompt).subspan(from, std::min(kChunk, prompt.size() - from))};
    last = model.forward({&chunk, 1}, engine::LogitsFor::LastToken);
    all.insert(all.end(), last.begin(), last.end());
  }
  for (int step = 0; step < 4; ++step) {
    const std::int32_t token = static_cast<std::int32_t>(std::max_element(last.begin(), last.begin() + vocab) - last.begin());
    const engine::Segment one{&state, {&token, 1}};
    last = model.forward({&one, 1}, engine::LogitsFor::LastToken);
    all.insert(all.end(), last.begin(), last.end());
  }
  return all;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

RepairSpec spec(std::optional<std::string> heads, std::optional<std::set<int>> layers) {
  RepairSpec c;
  if (heads) c.selection.heads = HeadSpec::parse(*heads);
  c.selection.layers = std::move(layers);
  return c;
}

TEST(PrefillReuse, CandidatesPrefilledFromSftsRecordMatchTheFullPrefillBitForBit) {
  const Checkpoint base(kModels / "base"), sft(kModels / "cot");
  auto plain = engine::load_causal_lm(kModels / "cot");
  engine::PrefillReuse reuse(engine::load_causal_lm(kModels / "cot"), {3, 7, 11}, std::size_t{1} << 30, /*min_tokens=*/2);  // 2: not the decoding steps
  heads::InMemorySurgery plain_surgery(*plain, base, sft, FamilyTable::builtin()), reuse_surgery(reuse, base, sft, FamilyTable::builtin());
  std::vector<std::int32_t> prompt(700);  // chunks of 256, 256, 188
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<std::int32_t>((i * 2654435761u) % 4000 + 10);

  // A second prompt shares the first two chunks (a NIAH grid's prompts share their haystack's start).
  std::vector<std::int32_t> other(prompt.begin(), prompt.begin() + 512);
  for (std::size_t i = 0; i < 300; ++i) other.push_back(static_cast<std::int32_t>((i * 40503u) % 4000 + 10));

  reuse.record();
  const std::vector<float> sft_logits = prefill_and_decode(reuse, prompt);
  EXPECT_TRUE(same_bits(sft_logits, prefill_and_decode(*plain, prompt)));
  EXPECT_TRUE(same_bits(prefill_and_decode(reuse, other), prefill_and_decode(*plain, other)));
  EXPECT_EQ(reuse.stats().recorded_chunks, 5u);  // 3 + the other's 2 own chunks (256 + 44 tokens)
  EXPECT_EQ(reuse.stats().recorded_tokens, 1000u);

  // Starting at each level: one KV group of layer 3, layer 7 alone, layer 11 alone.
  const std::vector<RepairSpec> candidates{spec("3:3", std::nullopt), spec(std::nullopt, std::set<int>{7}),
                                                     spec(std::nullopt, std::set<int>{11})};
  for (const auto& c : candidates) {
    plain_surgery.apply(c);
    const SurgeryPlan& plan = reuse_surgery.apply(c);
    const std::size_t first = static_cast<std::size_t>(*std::min_element(plan.selected_layers.begin(), plan.selected_layers.end()));
    reuse.reuse_from(first);
    const std::size_t reused_before = reuse.stats().reused_chunks, shared_before = reuse.stats().shared_chunks;
    const std::vector<float> want = prefill_and_decode(*plain, prompt), got = prefill_and_decode(reuse, prompt);
    EXPECT_FALSE(same_bits(want, sft_logits)) << c.label() << ": the candidate changes the logits";
    EXPECT_TRUE(same_bits(got, want)) << c.label() << " from layer " << first;
    // The other prompt: its first two chunks copied from the first prompt's states, the rest from the record.
    EXPECT_TRUE(same_bits(prefill_and_decode(reuse, other), prefill_and_decode(*plain, other))) << c.label();
    EXPECT_EQ(reuse.stats().reused_chunks, reused_before + 5) << c.label();
    EXPECT_EQ(reuse.stats().shared_chunks, shared_before + 2) << c.label();
  }
  // The check can fail: resuming above the first changed layer skips a changed layer.
  reuse_surgery.apply(spec("3:3", std::nullopt));
  plain_surgery.apply(spec("3:3", std::nullopt));
  reuse.reuse_from(7);
  EXPECT_FALSE(same_bits(prefill_and_decode(reuse, prompt), prefill_and_decode(*plain, prompt)));
  // A prompt chunked otherwise is not in the record: computed in full.
  const std::size_t reused_before = reuse.stats().reused_chunks;
  reuse.reuse_from(3);
  engine::SequenceState state = reuse.new_sequence();
  const engine::Segment whole{&state, prompt};
  reuse.forward({&whole, 1}, engine::LogitsFor::LastToken);
  EXPECT_EQ(reuse.stats().reused_chunks, reused_before);
}

TEST(PrefillReuse, StaysWithinItsBudget) {
  // A chunk's record: 7 KB per token (the stream at 3 levels, keys and values of layers 3 and 7) + 0.33 MB
  // of recurrent states: 2.1 MB for 256 tokens, 1.35 MB for 144.
  engine::PrefillReuse reuse(engine::load_causal_lm(kModels / "cot"), {3, 7, 11}, 1'500'000, /*min_tokens=*/2);
  std::vector<std::int32_t> prompt(400, 17);
  reuse.record();
  engine::SequenceState state = reuse.new_sequence();
  for (std::size_t from = 0; from < prompt.size(); from += kChunk) {
    const engine::Segment chunk{&state, std::span(prompt).subspan(from, std::min(kChunk, prompt.size() - from))};
    reuse.forward({&chunk, 1}, engine::LogitsFor::LastToken);
  }
  EXPECT_EQ(reuse.stats().recorded_chunks, 1u);  // the 144-token chunk fits, the 256-token one does not
  EXPECT_EQ(reuse.stats().recorded_tokens, 144u);
  EXPECT_EQ(reuse.stats().skipped_for_budget, 1u);
  EXPECT_LE(reuse.stats().recorded_bytes, 1'500'000u);
}

// The whole sweep in process, with and without the shared prefill: the same answer to every prompt.
// One NIAH prompt (two chunks: 1024 and about 350 tokens, 128 being kept for the answer) and one problem,
// one request in flight: each candidate decodes one sequence at a time, so the comparison does not hang on
// how requests happened to be batched.
// A candidate that changes layer 0 gets nothing from the record, but still copies the chunks prompts share,
// including a chunk too large to record.
TEST(PrefillReuse, ChunksOverTheRecordBudgetAreStillShared) {
  const Checkpoint base(kModels / "base"), sft(kModels / "cot");
  auto plain = engine::load_causal_lm(kModels / "cot");
  // 2 MB: a 256-token chunk's record (2.1 MB) does not fit, the state after it (1.9 MB) does.
  engine::PrefillReuse reuse(engine::load_causal_lm(kModels / "cot"), {3, 7, 11}, 2'000'000, /*min_tokens=*/2);
  heads::InMemorySurgery plain_surgery(*plain, base, sft, FamilyTable::builtin()), reuse_surgery(reuse, base, sft, FamilyTable::builtin());
  std::vector<std::int32_t> first(356), second;
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<std::int32_t>((i * 2654435761u) % 4000 + 10);
  second.assign(first.begin(), first.begin() + 256);
  for (std::size_t i = 0; i < 150; ++i) second.push_back(static_cast<std::int32_t>((i * 40503u) % 4000 + 10));
  reuse.record();
  prefill_and_decode(reuse, first);
  prefill_and_decode(reuse, second);
  EXPECT_EQ(reuse.stats().skipped_for_budget, 2u);  // the shared 256-token chunk, and the second prompt's own once the first's filled the budget

  RepairSpec early;
  early.selection.take = parse_take("mlp@0:0.5", "test");
  plain_surgery.apply(early);
  EXPECT_EQ(*reuse_surgery.apply(early).first_changed_layer(), 0u);
  reuse.pass_through();
  EXPECT_TRUE(same_bits(prefill_and_decode(reuse, first), prefill_and_decode(*plain, first)));
  EXPECT_TRUE(same_bits(prefill_and_decode(reuse, second), prefill_and_decode(*plain, second)));
  EXPECT_EQ(reuse.stats().shared_chunks, 1u);
  EXPECT_EQ(reuse.stats().reused_chunks, 0u);
}

TEST(PrefillReuse, SweepAnswersTheSameWithAndWithoutIt) {
  test::TempDir dir;
  auto r = test::run_qkrestore("niah generate -q --tokenizer " + (kModels / "base").string() +
                               " --tasks niah_single_2 --lengths 1500 --samples 1 --seed 5 --template chatml --out " +
                               (dir / "niah.jsonl").string());
  ASSERT_EQ(r.status, 0) << r.output;
  CandidateSetOptions set;
  set.global_layers = {3, 7, 11};
  set.ranked_groups = {"3:3"};
  set.top_k = 1;
  set.blend_alphas = {};
  set.procrustes_alphas = {};
  set.with_base = false;
  auto candidates = make_candidates(set);  // sft, top-1, layer-3, layer-7, layer-11, restore: keep the first level and the last
  std::erase_if(candidates, [](const Candidate& c) { return c.name != "sft" && c.name != "top-1" && c.name != "layer-11"; });
  // And the reverse view on base: base as it is (recorded), base with SFT's Q/K rows of layer 11 (from the record).
  candidates.push_back({"base", CandidateKind::Base, {}});
  Candidate reverse{"reverse-11", CandidateKind::ReverseSurgery, {}};
  reverse.spec.selection.layers = std::set<int>{11};
  candidates.push_back(reverse);
  SweepOptions o;
  o.base = kModels / "base";
  o.sft = kModels / "cot";
  o.niah_tasks = dir / "niah.jsonl";
  o.reasoning_tasks = test::source_dir() / "data/reasoning/selection.jsonl";
  o.ask.chat_model = o.sft;
  o.ask.reasoning_limit = 1;
  o.ask.reasoning_max_tokens = 32;
  o.ask.niah_max_tokens = 12;
  o.ask.jobs = 1;
  o.ask.quiet = true;
  std::map<std::string, std::vector<std::string>> answers[3];
  std::string savings;
  for (int reuse = 0; reuse < 3; ++reuse) {  // 2: through `qkrestore serve`, SFT and the reverse candidate
    o.out = dir / std::to_string(reuse);
    EmbeddedOptions e;
    e.prefill_reuse = reuse == 1;
    e.record_base = true;  // the reverse candidate resumes from base's record
    ServeOptions serve;
    serve.command = "'" + std::string(QK_BINARY) + "' serve --model {model} --port {port}";
    serve.scratch = o.out / "scratch";
    auto backends = reuse < 2 ? make_embedded_candidates(o.base, o.sft, FamilyTable::builtin(), e)
                             : make_served_candidates(o.base, o.sft, FamilyTable::builtin(), serve);
    run_sweep(o, reuse < 2 ? candidates : std::vector<Candidate>{candidates[0], reverse}, *backends);
    if (reuse == 1) savings = backends->savings();
    for (const auto& c : candidates)
      for (const char* file : {"niah/predictions.jsonl", "eval/predictions.jsonl"}) {
        std::ifstream in(o.out / "candidates" / c.name / file);
        for (std::string line; std::getline(in, line);) answers[reuse][c.name].push_back(string_field(parse_json(line, file), "pred", file));
      }
  }
  ASSERT_EQ(answers[0].size(), candidates.size());
  for (const auto& c : candidates) {
    ASSERT_EQ(answers[0][c.name].size(), 2u) << c.name;
    EXPECT_EQ(answers[1][c.name], answers[0][c.name]) << c.name;
  }
  EXPECT_EQ(answers[2]["reverse-11"], answers[0]["reverse-11"]);  // the reverse checkpoint, served
  EXPECT_EQ(answers[2]["sft"], answers[0]["sft"]);
  EXPECT_NE(answers[0]["reverse-11"], answers[0]["base"]) << "SFT's layer-11 Q/K rows change base's answers";
  // SFT recorded both chunks of the NIAH prompt (the problem is too short to record); top-1 (from layer 3)
  // and layer-11 each prefilled them from the record; base recorded them for the reverse candidate.
  const std::size_t sft = savings.find("(SFT): "), base = savings.find("(base): ");
  ASSERT_TRUE(sft != std::string::npos && base != std::string::npos && sft < base) << savings;
  EXPECT_NE(savings.substr(sft, base - sft).find("recorded (2 chunks,"), std::string::npos) << savings;
  EXPECT_NE(savings.substr(sft, base - sft).find("from the record (4 chunks)"), std::string::npos) << savings;
  EXPECT_NE(savings.substr(base).find("recorded (2 chunks,"), std::string::npos) << savings;
  EXPECT_NE(savings.substr(base).find("from the record (2 chunks)"), std::string::npos) << savings;
}

}  // namespace
}  // namespace qk::sweep
