#include "heads/evidence.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "util/error.hpp"

namespace qk::heads {
namespace {

// Collects, for the answering positions of the sample being fed, each head's mass on the needle and
// whether its top position copies the answer token from the needle.
class NeedleProbe final : public engine::AttentionProbe {
 public:
  struct Sums {
    std::vector<double> mass;  // one per answering position
    double hits = 0;
    std::size_t copies = 0;
  };

  void start(const ProbeSample& sample, const std::vector<std::int32_t>& tokens) {
    sample_ = &sample;
    tokens_ = &tokens;
    first_ = sample.prompt.size() - 1;
    needle_tokens_.clear();
    for (std::size_t j : sample.needle) needle_tokens_.insert(tokens[j]);
  }
  bool wants(std::size_t segment, std::size_t position) const override {
    return segment == 0 && position >= first_ && position < first_ + sample_->answer.size();
  }
  void record(std::size_t layer, std::size_t, std::size_t position, std::size_t head, std::span<const float> p) override {
    Sums& s = sums_[{static_cast<int>(layer), static_cast<int>(head)}];
    double mass = 0;
    for (std::size_t j : sample_->needle) mass += p[j];
    s.mass.push_back(mass);
    const std::int32_t answer = sample_->answer[position - first_];
    if (!needle_tokens_.count(answer)) return;
    ++s.copies;
    const std::size_t top = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    if ((*tokens_)[top] == answer && std::binary_search(sample_->needle.begin(), sample_->needle.end(), top)) s.hits += 1;
  }
  const std::map<std::pair<int, int>, Sums>& sums() const { return sums_; }

 private:
  const ProbeSample* sample_ = nullptr;
  const std::vector<std::int32_t>* tokens_ = nullptr;
  std::size_t first_ = 0;
  std::set<std::int32_t> needle_tokens_;
  std::map<std::pair<int, int>, Sums> sums_;
};

// Clears the probe on every exit path, so a failed measurement leaves the model as it was.
struct ProbeScope {
  engine::EditableModel* model;  // nullptr: a model without probes records nothing
  ProbeScope(engine::CausalLM& m, engine::AttentionProbe* p) : model(engine::editable(m)) {
    if (model) model->set_attention_probe(p);
  }
  ~ProbeScope() {
    if (model) model->set_attention_probe(nullptr);
  }
};

// The segments run_probes feeds for one sample: the prompt but its last token in chunks, then the
// answering positions (the prompt's last token and the answer but its last), whose logits are kept.
std::vector<std::pair<std::size_t, std::size_t>> chunks_of(const ProbeSample& sample) {
  constexpr std::size_t kChunk = 1024;  // as generate's prefill: bounds activation memory
  std::vector<std::pair<std::size_t, std::size_t>> chunks;
  const std::size_t answering = sample.prompt.size() - 1;
  for (std::size_t at = 0; at < answering; at += kChunk) chunks.emplace_back(at, std::min(kChunk, answering - at));
  chunks.emplace_back(answering, sample.answer.size());
  return chunks;
}

std::vector<std::int32_t> teacher_forced_tokens(const ProbeSample& sample) {
  if (sample.prompt.empty() || sample.answer.empty()) fail(ErrorKind::Format, "probe sample {} has an empty prompt or answer", sample.id);
  std::vector<std::int32_t> tokens = sample.prompt;
  tokens.insert(tokens.end(), sample.answer.begin(), sample.answer.end() - 1);
  return tokens;
}

// Greedy exact match from the answering positions' logits: argmax (first index on ties, as greedy
// decoding) equal to the answer's next token everywhere.
double exact_match(const std::vector<float>& logits, const ProbeSample& sample, std::size_t vocab) {
  for (std::size_t k = 0; k < sample.answer.size(); ++k) {
    const float* row = logits.data() + k * vocab;
    if (std::max_element(row, row + vocab) - row != sample.answer[k]) return 0.0;
  }
  return 1.0;
}

}  // namespace

ProbeRun run_probes(engine::CausalLM& model, std::span<const ProbeSample> samples, bool attention) {
  NeedleProbe probe;
  ProbeScope scope(model, attention ? &probe : nullptr);
  const std::size_t vocab = model.info().vocab_size;
  ProbeRun run;
  for (const auto& sample : samples) {
    const std::vector<std::int32_t> tokens = teacher_forced_tokens(sample);
    probe.start(sample, tokens);
    engine::SequenceState state = model.new_sequence();
    state.reserve_positions(tokens.size());  // the chunks then write their keys in place, no copies as the cache grows
    const auto chunks = chunks_of(sample);
    std::vector<float> logits;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
      const engine::Segment segment{&state, std::span<const std::int32_t>(tokens).subspan(chunks[c].first, chunks[c].second)};
      logits = model.forward(std::span<const engine::Segment>(&segment, 1),
                             c + 1 == chunks.size() ? engine::LogitsFor::AllTokens : engine::LogitsFor::LastToken);
    }
    run.recall.scores.push_back(exact_match(logits, sample, vocab));
  }
  for (const auto& [key, s] : probe.sums()) {
    HeadAttention h;
    h.layer = key.first;
    h.head = key.second;
    h.mass = mean_estimate(s.mass);
    h.mass.low = std::max(0.0, h.mass.low), h.mass.high = std::min(1.0, h.mass.high);  // a share of attention
    h.retrieval = proportion_estimate(s.hits, s.copies);
    h.copies = s.copies;
    h.positions = s.mass.size();
    run.heads.push_back(h);
  }
  return run;
}

Estimate RecallResult::recall() const {
  double sum = 0;
  for (double s : scores) sum += s;
  return proportion_estimate(sum, scores.size()).scaled(100);
}

Estimate recall_gain(const RecallResult& a, const RecallResult& b) {
  if (a.scores.size() != b.scores.size()) fail(ErrorKind::Usage, "recall_gain: {} against {} samples", a.scores.size(), b.scores.size());
  std::vector<double> diff;
  for (std::size_t i = 0; i < a.scores.size(); ++i) diff.push_back(100 * (a.scores[i] - b.scores[i]));
  return mean_estimate(diff);
}

}  // namespace qk::heads
