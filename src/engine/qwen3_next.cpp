
#include <algorithm>
#include <map>
#include <optional>
#include <string_view>

#include "arch/profile.hpp"
#include "engine/feed_forward.hpp"
#include "engine/flush_denormals.hpp"
#include "engine/gated_attention.hpp"
#include "engine/gated_deltanet.hpp"
#include "engine/kernels.hpp"
#include "engine/model_hooks.hpp"
#include "engine/op_timer.hpp"
#include "util/thread_pool.hpp"
#include "engine/qwen3_next_config.hpp"
#include "util/error.hpp"

namespace qk::engine {
namespace {

using I = std::int64_t;

struct Layer {
  std::unique_ptr<GatedDeltaNet> linear;    // set for linear_attention layers
  std::unique_ptr<GatedAttention> attention;  // set for full_attention layers
  std::unique_ptr<FeedForward> ffn;
  std::vector<float> input_norm, post_attention_norm;  // zero-centred, [hidden]
};

// The names of the tensors the engine loads, from the architecture table (families.json engine_tensors).
const EngineTensorNames& qwen3_next_tensor_names() {
  const FamilyProfile* family = FamilyTable::builtin().find("qwen3_next");
  if (!family || family->engine_tensors.empty())
    fail(ErrorKind::Unsupported, "built-in families.json: qwen3_next has no engine_tensors");
  return family->engine_tensors;
}

class Qwen3Next final : public CausalLM, public EditableModel, public ResumableForward {
 public:
  Qwen3Next(const nlohmann::json& json, const WeightSource& w) : names_(qwen3_next_tensor_names()) {
    c_ = parse_qwen3_next_config(json, w.label() + "/config.json");
    const I H = I(c_.hidden_size), V = I(c_.vocab_size);
    embed_ = w.matrix(names_.name(EngineRole::Embed), {V, H});
    if (!c_.tie_word_embeddings) lm_head_ = w.matrix(names_.name(EngineRole::LmHead), {V, H});
    final_norm_ = w.load(names_.name(EngineRole::FinalNorm), {H});
    const Matrix& head = c_.tie_word_embeddings ? embed_ : lm_head_;
    const std::uint64_t norm_bytes = c_.hidden_size * sizeof(float);
    std::uint64_t bytes = embed_.bytes() + lm_head_.bytes() + norm_bytes;
    std::uint64_t active = head.bytes() + head.bytes() / c_.vocab_size + norm_bytes;  // lm_head + one embedding row
    for (std::size_t i = 0; i < c_.num_hidden_layers; ++i) {
      Layer layer;
      layer.input_norm = w.load(names_.name(EngineRole::InputNorm, i), {H});
      layer.post_attention_norm = w.load(names_.name(EngineRole::PostAttentionNorm, i), {H});
      std::size_t mixer_bytes;
      if (c_.is_linear_attention(i)) {
        GatedDeltaNetShape s{c_.hidden_size, c_.linear_num_key_heads, c_.linear_num_value_heads,
                             c_.linear_key_head_dim, c_.linear_value_head_dim, c_.linear_conv_kernel_dim,
                             c_.rms_norm_eps};
        layer.linear = std::make_unique<GatedDeltaNet>(s, w, names_, i);
        mixer_bytes = layer.linear->weight_bytes();
      } else {
        GatedAttentionShape s{c_.hidden_size, c_.num_attention_heads, c_.num_key_value_heads, c_.head_dim,
                              c_.rotary_dim, c_.rope_theta, c_.rms_norm_eps};
        layer.attention = std::make_unique<GatedAttention>(s, w, names_, i);
        mixer_bytes = layer.attention->weight_bytes();
      }
      if (c_.is_moe(i)) {
        SparseMoeShape s{c_.hidden_size, c_.num_experts, c_.num_experts_per_tok, c_.moe_intermediate_size,
                         c_.shared_expert_intermediate_size, c_.norm_topk_prob};
        layer.ffn = std::make_unique<SparseMoe>(s, w, names_, i);
      } else {
        const auto mlp = SwiGluNames::of(names_, EngineRole::MlpGate, EngineRole::MlpUp, EngineRole::MlpDown, i);
        layer.ffn = std::make_unique<SwiGluMlp>(c_.hidden_size, c_.intermediate_size, w, mlp);
      }
      bytes += mixer_bytes + layer.ffn->weight_bytes() + 2 * norm_bytes;
      active += mixer_bytes + layer.ffn->active_weight_bytes() + 2 * norm_bytes;
      layers_.push_back(std::move(layer));
    }
    info_.model_type = "qwen3_next";
    info_.vocab_size = c_.vocab_size;
    info_.hidden_size = c_.hidden_size;
    info_.num_layers = c_.num_hidden_layers;
    info_.max_position_embeddings = c_.max_position_embeddings;
    info_.eos_token_ids = c_.eos_token_ids;
    info_.weight_bytes = bytes;
    info_.active_weight_bytes_per_token = active;
  }

  const ModelInfo& info() const override { return info_; }

  std::span<float> mutable_tensor(std::string_view name) override {
    const std::optional<EngineTensor> t = names_.find(name);
    if (!t) return {};
    switch (t->role) {
      case EngineRole::Embed: return embed_.writable();
      case EngineRole::LmHead: return lm_head_.writable();  // empty when tied to the embeddings
      case EngineRole::FinalNorm: return final_norm_;
      default: break;
    }
    if (t->layer >= layers_.size()) return {};
    Layer& l = layers_[t->layer];
    switch (t->role) {
      case EngineRole::InputNorm: return l.input_norm;
      case EngineRole::PostAttentionNorm: return l.post_attention_norm;
      default: break;
    }
    if (l.attention)
      if (const std::span<float> s = l.attention->tensor(t->role); !s.empty()) return s;
    if (l.linear)
      if (const std::span<float> s = l.linear->tensor(t->role); !s.empty()) return s;
    return l.ffn->tensor(t->role, t->expert);
  }

  void tensor_written(std::string_view name) override {
    const std::optional<EngineTensor> t = names_.find(name);
    if (t && t->layer < layers_.size() && layers_[t->layer].linear) layers_[t->layer].linear->tensor_written(t->role);
  }

  void set_attention_probe(AttentionProbe* probe) override {
    for (std::size_t l = 0; l < layers_.size(); ++l)
      if (layers_[l].attention) layers_[l].attention->set_probe(probe, l);
  }

  SequenceState new_sequence() const override {
    SequenceState state;
    state.layers.resize(layers_.size());
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      if (layers_[i].linear) layers_[i].linear->init_cache(state.layers[i]);
      else layers_[i].attention->init_cache(state.layers[i]);
    }
    return state;
  }

  std::vector<float> forward(std::span<const Segment> batch, LogitsFor which) override {
    const std::size_t H = c_.hidden_size, V = c_.vocab_size;
    const std::size_t rows = check_batch(batch);
    // x = embed_tokens[token]
    std::vector<float> x(rows * H);
    std::size_t r = 0;
    for (const auto& seg : batch)
      for (std::int32_t token : seg.tokens) {
        if (token < 0 || static_cast<std::size_t>(token) >= V)
          fail(ErrorKind::Usage, "token id {} is outside the vocabulary (size {})", token, V);
        embed_.row_to_f32(static_cast<std::size_t>(token), x.data() + r++ * H);
      }
    return run_layers(batch, rows, 0, std::move(x), which);
  }

  std::vector<float> forward_from(std::span<const Segment> batch, std::size_t first_layer, std::span<const float> residual,
                                  LogitsFor which) override {
    const std::size_t rows = check_batch(batch);
    if (first_layer > layers_.size())
      fail(ErrorKind::Usage, "engine forward_from: layer {} of a {}-layer model", first_layer, layers_.size());
    if (residual.size() != rows * c_.hidden_size)
      fail(ErrorKind::Usage, "engine forward_from: {} residual floats for {} tokens of width {}", residual.size(), rows, c_.hidden_size);
    return run_layers(batch, rows, first_layer, std::vector<float>(residual.begin(), residual.end()), which);
  }

  void set_residual_capture(std::map<std::size_t, std::vector<float>>* capture) override { capture_ = capture; }

 private:
  std::size_t check_batch(std::span<const Segment> batch) const {
    std::size_t rows = 0;
    for (const auto& seg : batch) {
      if (seg.tokens.empty()) fail(ErrorKind::Usage, "engine forward: a segment has no tokens");
      if (seg.state->layers.size() != layers_.size())
        fail(ErrorKind::Usage, "engine forward: sequence state was made for another model");
      rows += seg.tokens.size();
    }
    return rows;
  }

  // Layers first_layer.. on the residual stream x, then the positions advance and the logits asked for.
  std::vector<float> run_layers(std::span<const Segment> batch, std::size_t rows, std::size_t first_layer, std::vector<float> x,
                                LogitsFor which) {
    const FlushDenormals flush;
    const std::size_t H = c_.hidden_size, V = c_.vocab_size;
    const std::span<float> normed(scratch(Scratch::ResidualNormed, rows * H), rows * H);
    const std::span<float> mixed(scratch(Scratch::ResidualMixed, rows * H), rows * H);
    for (std::size_t l = first_layer; l < layers_.size(); ++l) {
      if (capture_)
        if (auto it = capture_->find(l); it != capture_->end()) it->second.insert(it->second.end(), x.begin(), x.end());
      const Layer& layer = layers_[l];
      BatchRows rows_of;
      std::size_t first = 0;
      for (const auto& seg : batch) {
        rows_of.push_back({&seg.state->layers[l], first, seg.tokens.size(), seg.state->position});
        first += seg.tokens.size();
      }
      // x = x + mixer(norm(x));  x = x + ffn(norm(x))
      {
        OpTimer timer(Op::Elementwise);
        parallel_ranges(rows, 64, [&](std::size_t b, std::size_t e) {
          rmsnorm(x.data() + b * H, layer.input_norm.data(), normed.data() + b * H, e - b, H, c_.rms_norm_eps, true);
        });
      }
      if (layer.linear) layer.linear->forward(normed.data(), rows, rows_of, mixed.data());
      else layer.attention->forward(normed.data(), rows, rows_of, mixed.data());
      {
        OpTimer timer(Op::Elementwise);
        parallel_ranges(rows, 64, [&](std::size_t b, std::size_t e) {
          for (std::size_t i = b * H; i < e * H; ++i) x[i] += mixed[i];
          rmsnorm(x.data() + b * H, layer.post_attention_norm.data(), normed.data() + b * H, e - b, H, c_.rms_norm_eps,
                  true);
        });
      }
      layer.ffn->forward(normed.data(), rows, mixed.data());
      {
        OpTimer timer(Op::Elementwise);
        parallel_ranges(rows, 64, [&](std::size_t b, std::size_t e) {
          for (std::size_t i = b * H; i < e * H; ++i) x[i] += mixed[i];
        });
      }
    }
    for (const auto& seg : batch) seg.state->position += seg.tokens.size();

    // Logits only for the rows asked for: final norm, then lm_head (or the tied embedding).
    std::vector<std::size_t> wanted;
    if (which == LogitsFor::AllTokens) {
      for (std::size_t i = 0; i < rows; ++i) wanted.push_back(i);
    } else {
      std::size_t end = 0;
      for (const auto& seg : batch) wanted.push_back((end += seg.tokens.size()) - 1);
    }
    std::vector<float> last(wanted.size() * H);
    for (std::size_t i = 0; i < wanted.size(); ++i)
      rmsnorm(x.data() + wanted[i] * H, final_norm_.data(), last.data() + i * H, 1, H, c_.rms_norm_eps, true);
    std::vector<float> logits(wanted.size() * V);
    matmul_wt(last.data(), c_.tie_word_embeddings ? embed_ : lm_head_, logits.data(), wanted.size());
    return logits;
  }

  const EngineTensorNames& names_;
  Qwen3NextConfig c_;
  std::map<std::size_t, std::vector<float>>* capture_ = nullptr;
  ModelInfo info_;
  Matrix embed_, lm_head_;  // [vocab, hidden]; lm_head_ empty when tied
  std::vector<float> final_norm_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<CausalLM> make_qwen3_next(const nlohmann::json& config, const WeightSource& weights) {
  return std::make_unique<Qwen3Next>(config, weights);
}

}  // namespace qk::engine
