// Prompt prefill shared by the weight edits of one model (`heads`' probes, `sweep`'s and `locate`'s
// candidates): the one place that skips the layers below the first changed one.
//
// Every candidate is the SFT model with the weights of some layers changed (heads/candidate.hpp), and
// every candidate reads the same prompts (the NIAH file, the reasoning problems, heads' probes). For a
// prompt, the layers below a candidate's first changed layer L compute exactly what they computed for
// SFT. So while SFT answers (record), this model keeps, per prefill chunk of every long prompt, the
// residual stream entering each level layer and what the chunk left in the caches of the layers below
// the highest level; a candidate whose first changed layer is a level (reuse_from(L)) then prefills that
// chunk with forward_from(L) and takes the lower layers' caches from the record. Bit for bit what the full forward computes: layers >= L
// run the same code on the same inputs with the same rows, layers < L get copies of what they would have
// computed. Decoding is never shared (the generated tokens differ per candidate).
//
// Prompts also share chunks among themselves: a NIAH grid's prompts hold the same haystack, so the chunks
// before the needle recur from prompt to prompt. SFT's run counts the prompts each chunk occurs in (every
// chunk, recorded or not); while a candidate runs, the state after a recurring chunk (every layer's caches,
// and its logits) is kept until its last occurrence, and the prompts after the first copy it instead of
// computing the chunk again. This is what a candidate changing layer 0 (the embeddings, the first
// layer's feed-forward block) saves: the record gives it nothing.
//
// A chunk is recognised by everything fed to its sequence so far, in the same chunks: a forward of one
// segment whose state is at position 0 starts a prompt, and the next forwards of that same state continue
// it (generate_continuous prefills each admitted prompt this way, chunk by chunk, before decoding).
// Memory is bounded: records stop when they would pass `budget_bytes` (the chunks not recorded are then
// computed in full, as without reuse), and the kept states of a candidate have a budget of the same size.
// Short chunks (under min_tokens) are neither recorded nor shared: their prefill is cheaper than copying
// the recurrent states.
//
// Not thread-safe: mode changes only while no forward runs (between candidates, as InMemorySurgery).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "engine/causal_lm.hpp"
#include "engine/model_hooks.hpp"

namespace qk::engine {

struct PrefillReuseStats {
  std::size_t recorded_chunks = 0, recorded_tokens = 0, recorded_bytes = 0;
  std::size_t reused_chunks = 0, reused_tokens = 0;  // prefilled from a record
  std::size_t shared_chunks = 0, shared_tokens = 0;  // copied from an earlier prompt of the same candidate
  std::size_t skipped_for_budget = 0;                // chunks not recorded: over budget
  std::size_t unshared_for_budget = 0;               // recurring chunks whose state was not kept: over budget
};

class PrefillReuse final : public CausalLM, public EditableModel {
 public:
  // levels: the layers a candidate may start from (the global layers), ascending.
  PrefillReuse(std::unique_ptr<CausalLM> inner, std::vector<std::size_t> levels, std::size_t budget_bytes,
               std::size_t min_tokens = 256);

  void record();                        // the weights are SFT's: record the chunks fed from now on
  void reuse_from(std::size_t layer);   // the weights differ from SFT's only in layers >= layer
  void pass_through();                  // neither record nor reuse (another model's weights); recurring chunks
                                        // are still shared between prompts
  const PrefillReuseStats& stats() const { return stats_; }

  const ModelInfo& info() const override { return inner_->info(); }
  SequenceState new_sequence() const override { return inner_->new_sequence(); }
  std::vector<float> forward(std::span<const Segment> batch, LogitsFor which) override;
  // The wrapped model's, when it has them (in-memory candidates and probes go through this wrapper).
  std::span<float> mutable_tensor(std::string_view name) override { return edit_ ? edit_->mutable_tensor(name) : std::span<float>{}; }
  void tensor_written(std::string_view name) override { if (edit_) edit_->tensor_written(name); }
  void set_attention_probe(AttentionProbe* probe) override { if (edit_) edit_->set_attention_probe(probe); }

 private:
  // What one prefill chunk of SFT left behind.
  struct Record {
    std::map<std::size_t, std::vector<float>> residual;  // per level: the stream entering it, [tokens, hidden]
    std::vector<LayerCache> below;               // per layer below the highest level: recurrent and conv
                                                         // state after the chunk; keys/values: the chunk's rows only
    std::size_t bytes = 0;
  };
  // A candidate's state after a chunk that recurs, with that chunk's logits, kept for its next occurrences.
  struct Shared {
    SequenceState state;
    std::vector<float> logits;
    LogitsFor which;
    std::size_t remaining = 0;  // occurrences still to come
    std::size_t bytes = 0;
  };
  enum class Mode { PassThrough, Record, Reuse };

  // Follows the sequence being prefilled; returns the key of this chunk (empty when it is no prefill).
  const std::vector<std::int32_t>* track(std::span<const Segment> batch);
  std::vector<float> record_chunk(const Segment& segment, LogitsFor which);
  std::vector<float> reuse_chunk(const Segment& segment, const Record& record, LogitsFor which);
  void change_mode(Mode mode);

  std::unique_ptr<CausalLM> inner_;
  EditableModel* edit_;       // inner_'s, or nullptr
  ResumableForward* resume_;  // inner_'s, or nullptr: every forward runs in full
  std::vector<std::size_t> levels_;
  std::size_t budget_, min_tokens_;
  Mode mode_ = Mode::PassThrough;
  std::size_t reuse_layer_ = 0;
  // The prompt being prefilled: its state, and its key so far (per chunk: -1 - length, then the tokens).
  const SequenceState* tracked_ = nullptr;
  std::size_t tracked_position_ = 0;  // its position after the chunks seen
  std::vector<std::int32_t> key_;
  std::map<std::vector<std::int32_t>, Record> records_;
  std::map<std::vector<std::int32_t>, std::size_t> occurrences_;  // per chunk of min_tokens or more: in how many prompts SFT met it
  std::map<std::vector<std::int32_t>, Shared> shared_;  // of the current weights only
  std::size_t shared_bytes_ = 0;
  PrefillReuseStats stats_;
};

}  // namespace qk::engine
