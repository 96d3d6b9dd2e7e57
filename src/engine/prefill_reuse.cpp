#include "engine/prefill_reuse.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace qk::engine {
namespace {

template <class Floats>
std::size_t float_bytes(const Floats& v) { return v.size() * sizeof(float); }

// Clears the inner model's residual capture on every exit path (none to set on a model without one).
struct CaptureScope {
  ResumableForward* model;
  CaptureScope(ResumableForward* m, std::map<std::size_t, std::vector<float>>* capture) : model(m) {
    if (model) model->set_residual_capture(capture);
  }
  ~CaptureScope() {
    if (model) model->set_residual_capture(nullptr);
  }
};

}  // namespace

PrefillReuse::PrefillReuse(std::unique_ptr<CausalLM> inner, std::vector<std::size_t> levels,
                           std::size_t budget_bytes, std::size_t min_tokens)
    : inner_(std::move(inner)),
      edit_(editable(*inner_)),
      resume_(resumable(*inner_)),
      levels_(std::move(levels)),
      budget_(budget_bytes),
      min_tokens_(min_tokens) {
  std::sort(levels_.begin(), levels_.end());
  levels_.erase(std::unique(levels_.begin(), levels_.end()), levels_.end());
  std::erase_if(levels_, [&](std::size_t l) { return l == 0 || l >= inner_->info().num_layers; });  // 0: nothing to skip
  if (!resume_) levels_.clear();  // a family without residual capture / forward_from: every forward runs in full
}

void PrefillReuse::change_mode(Mode mode) {
  mode_ = mode;
  tracked_ = nullptr;
  shared_.clear();  // states of the previous weights
  shared_bytes_ = 0;
}

void PrefillReuse::record() { change_mode(levels_.empty() ? Mode::PassThrough : Mode::Record); }

void PrefillReuse::reuse_from(std::size_t layer) {
  change_mode(std::binary_search(levels_.begin(), levels_.end(), layer) ? Mode::Reuse : Mode::PassThrough);
  reuse_layer_ = layer;
}

void PrefillReuse::pass_through() { change_mode(Mode::PassThrough); }

const std::vector<std::int32_t>* PrefillReuse::track(std::span<const Segment> batch) {
  if (batch.size() != 1) {
    tracked_ = nullptr;
    return nullptr;
  }
  const Segment& s = batch[0];
  if (s.state->position == 0) {
    tracked_ = s.state;
    key_.clear();
  } else if (s.state != tracked_ || s.state->position != tracked_position_) {
    tracked_ = nullptr;
    return nullptr;
  }
  key_.push_back(-1 - static_cast<std::int32_t>(s.tokens.size()));  // the chunking is part of the key: it changes rounding
  key_.insert(key_.end(), s.tokens.begin(), s.tokens.end());
  tracked_position_ = s.state->position + s.tokens.size();
  return &key_;
}

std::vector<float> PrefillReuse::forward(std::span<const Segment> batch, LogitsFor which) {
  const std::vector<std::int32_t>* key = track(batch);
  if (!key) return inner_->forward(batch, which);
  if (mode_ == Mode::Record) return record_chunk(batch[0], which);
  const Segment& segment = batch[0];
  if (auto s = shared_.find(*key); s != shared_.end() && s->second.which == which) {
    *segment.state = s->second.state;  // what computing the chunk again would leave, in every layer
    std::vector<float> logits = s->second.logits;
    ++stats_.shared_chunks;
    stats_.shared_tokens += segment.tokens.size();
    if (--s->second.remaining == 0) {
      shared_bytes_ -= s->second.bytes;
      shared_.erase(s);
    }
    return logits;
  }
  const auto record = records_.find(*key);
  std::vector<float> logits = record != records_.end() && mode_ == Mode::Reuse ? reuse_chunk(segment, record->second, which)
                                                                              : inner_->forward(batch, which);
  if (const auto seen = occurrences_.find(*key); seen != occurrences_.end() && seen->second > 1) {
    Shared kept{*segment.state, logits, which, seen->second - 1, 0};
    kept.bytes = float_bytes(kept.logits);
    for (const auto& layer : kept.state.layers)
      kept.bytes += float_bytes(layer.conv) + float_bytes(layer.recurrent) + float_bytes(layer.keys) + float_bytes(layer.values);
    if (shared_bytes_ + kept.bytes <= budget_) {
      shared_bytes_ += kept.bytes;
      shared_.insert_or_assign(*key, std::move(kept));
    } else {
      ++stats_.unshared_for_budget;
    }
  }
  return logits;
}

std::vector<float> PrefillReuse::record_chunk(const Segment& segment, LogitsFor which) {
  const std::size_t tokens = segment.tokens.size();
  if (tokens < min_tokens_) return inner_->forward({&segment, 1}, which);
  const bool keep = occurrences_[key_]++ == 0;  // its first occurrence: record it (budget permitting)
  std::map<std::size_t, std::vector<float>> capture;
  if (keep)
    for (std::size_t l : levels_) capture[l];
  std::vector<float> logits;
  {
    CaptureScope scope(resume_, keep ? &capture : nullptr);
    logits = inner_->forward({&segment, 1}, which);
  }
  if (!keep) return logits;
  Record record;
  record.residual = std::move(capture);
  record.below.resize(levels_.back());
  std::size_t bytes = key_.size() * sizeof(std::int32_t);
  for (const auto& [layer, residual] : record.residual) bytes += float_bytes(residual);
  for (std::size_t l = 0; l < record.below.size(); ++l) {
    const LayerCache& cache = segment.state->layers[l];
    LayerCache& kept = record.below[l];
    kept.conv = cache.conv;
    kept.recurrent = cache.recurrent;
    // An attention layer's cache grew by this chunk's rows: keep those only.
    const std::size_t kept_floats = cache.keys.size() / segment.state->position * tokens;
    kept.keys.assign(cache.keys.end() - static_cast<std::ptrdiff_t>(kept_floats), cache.keys.end());
    kept.values.assign(cache.values.end() - static_cast<std::ptrdiff_t>(kept_floats), cache.values.end());
    bytes += float_bytes(kept.conv) + float_bytes(kept.recurrent) + float_bytes(kept.keys) + float_bytes(kept.values);
  }
  if (stats_.recorded_bytes + bytes > budget_) {
    ++stats_.skipped_for_budget;
    return logits;
  }
  record.bytes = bytes;
  records_.emplace(key_, std::move(record));
  ++stats_.recorded_chunks;
  stats_.recorded_tokens += tokens;
  stats_.recorded_bytes += bytes;
  return logits;
}

std::vector<float> PrefillReuse::reuse_chunk(const Segment& segment, const Record& record, LogitsFor which) {
  std::vector<float> logits = resume_->forward_from({&segment, 1}, reuse_layer_, record.residual.at(reuse_layer_), which);
  for (std::size_t l = 0; l < reuse_layer_; ++l) {
    LayerCache& cache = segment.state->layers[l];
    const LayerCache& kept = record.below[l];
    cache.conv = kept.conv;
    cache.recurrent = kept.recurrent;
    cache.keys.insert(cache.keys.end(), kept.keys.begin(), kept.keys.end());
    cache.values.insert(cache.values.end(), kept.values.begin(), kept.values.end());
  }
  ++stats_.reused_chunks;
  stats_.reused_tokens += segment.tokens.size();
  return logits;
}

}  // namespace qk::engine
