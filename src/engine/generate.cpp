#include "engine/generate.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "util/error.hpp"

namespace qk::engine {
namespace {

// splitmix64: a small, seedable generator whose stream is the same on every platform.
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
double uniform01(std::uint64_t& state) { return static_cast<double>(next_random(state) >> 11) * 0x1.0p-53; }

// KV room for a sequence: its prompt and the tokens it may generate, within the model's context, and at most
// kDecodeReserve tokens past the prompt (a longer answer grows the cache, a copy then amortised over thousands of
// steps), so that a request asking for a million tokens does not reserve address space for them.
constexpr std::size_t kDecodeReserve = 8192;
std::size_t positions_to_reserve(std::size_t prompt, std::size_t max_tokens, const ModelInfo& info) {
  std::size_t positions = prompt + std::min(max_tokens, kDecodeReserve);
  if (info.max_position_embeddings > 0) positions = std::min(positions, std::max(prompt, info.max_position_embeddings));
  return positions;
}

}  // namespace

const char* finish_reason_name(FinishReason reason) { return reason == FinishReason::Stop ? "stop" : "length"; }

void validate_request(const GenerationRequest& r) {
  if (r.prompt.empty()) fail(ErrorKind::Usage, "generation needs a prompt of at least one token");
  const auto& o = r.options;
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature)) fail(ErrorKind::Usage, "temperature must be >= 0");
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) fail(ErrorKind::Usage, "top_p must be in (0, 1]");
  for (float penalty : {o.frequency_penalty, o.presence_penalty})
    if (!(penalty >= -2.0f && penalty <= 2.0f)) fail(ErrorKind::Usage, "frequency/presence penalties must be in [-2, 2]");
  if (o.top_logprobs > kMaxTopLogprobs) fail(ErrorKind::Usage, "top_logprobs must be at most {}", kMaxTopLogprobs);
}

TokenLogprob token_logprob(std::span<const float> logits, std::int32_t token, std::size_t k) {
  // log_softmax in double: the log-sum-exp of a 150K vocabulary loses digits in float.
  const float top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - top);
  const double log_z = top + std::log(sum);
  TokenLogprob out;
  out.logprob = static_cast<float>(logits[static_cast<std::size_t>(token)] - log_z);
  k = std::min(k, logits.size());
  if (k == 0) return out;
  std::vector<std::int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](std::int32_t a, std::int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  for (std::size_t i = 0; i < k; ++i) out.top.emplace_back(order[i], static_cast<float>(logits[order[i]] - log_z));
  return out;
}

void apply_penalties(std::span<float> logits, std::span<const std::int32_t> generated, float frequency_penalty,
                     float presence_penalty) {
  if ((frequency_penalty == 0.0f && presence_penalty == 0.0f) || generated.empty()) return;
  std::vector<std::int32_t> sorted(generated.begin(), generated.end());
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    logits[static_cast<std::size_t>(sorted[i])] -= static_cast<float>(j - i) * frequency_penalty + presence_penalty;
    i = j;
  }
}

std::int32_t pick_token(std::span<const float> logits, const SamplingOptions& o, std::uint64_t& rng) {
  if (o.temperature == 0.0f || o.top_k == 1)
    return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  // Candidates by descending logit, cut to top_k; softmax(logit / T); cut to the smallest prefix whose
  // mass reaches top_p; draw from what is left.
  std::vector<std::int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::size_t keep = o.top_k ? std::min(o.top_k, order.size()) : order.size();
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    [&](std::int32_t a, std::int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  std::vector<double> p(keep);
  const double top = logits[order[0]];
  double sum = 0.0;
  for (std::size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((logits[order[i]] - top) / o.temperature);
  double mass = 0.0;
  std::size_t nucleus = keep;
  for (std::size_t i = 0; i < keep; ++i) {
    mass += p[i] / sum;
    if (mass >= o.top_p) {
      nucleus = i + 1;
      break;
    }
  }
  const double total = std::accumulate(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(nucleus), 0.0);
  double u = uniform01(rng) * total;
  for (std::size_t i = 0; i < nucleus; ++i)
    if ((u -= p[i]) < 0.0) return order[i];
  return order[nucleus - 1];
}

void generate_continuous(CausalLM& model, const AdmitRequests& admit, const GenerationLimits& limits) {
  const std::size_t vocab = model.info().vocab_size;
  struct Live {
    const GenerationRequest* request;
    GenerationResult result;
    SequenceState state;
    std::vector<float> logits;  // of the last fed token
    std::uint64_t rng;
    std::int32_t pending = -1;  // token picked but not yet fed
  };
  const std::size_t places = std::max<std::size_t>(1, limits.max_batch);
  std::vector<Live> live;
  std::vector<float> penalized;
  for (;;) {
    // Newcomers take the free places: prefill each prompt in chunks (the state carries over).
    if (live.size() < places) {
      for (const GenerationRequest* request : admit(places - live.size())) {
        validate_request(*request);
        const auto& prompt = request->prompt;
        Live l{request, {}, model.new_sequence(), {}, request->options.seed};
        l.state.reserve_positions(positions_to_reserve(prompt.size(), request->options.max_tokens, model.info()));
        for (std::size_t from = 0; from < prompt.size(); from += limits.prefill_chunk) {
          const std::size_t n = std::min(limits.prefill_chunk, prompt.size() - from);
          const Segment seg{&l.state, std::span(prompt).subspan(from, n)};
          l.logits = model.forward({&seg, 1}, LogitsFor::LastToken);
        }
        l.result.prompt_tokens = prompt.size();
        live.push_back(std::move(l));
      }
    }
    if (live.empty()) return;
    // Pick a token per live sequence, retire finished ones, feed the rest in one forward.
    std::vector<Live> next;
    for (auto& l : live) {
      const auto& o = l.request->options;
      auto& result = l.result;
      auto retire = [&](FinishReason reason) {
        result.finish = reason;
        if (o.on_finish) o.on_finish(result);
      };
      if (result.tokens.size() >= o.max_tokens) {
        retire(FinishReason::Length);
        continue;
      }
      std::span<const float> logits{l.logits.data(), vocab};
      if (o.frequency_penalty != 0.0f || o.presence_penalty != 0.0f) {
        penalized.assign(logits.begin(), logits.end());
        apply_penalties(penalized, result.tokens, o.frequency_penalty, o.presence_penalty);
        logits = penalized;
      }
      const std::int32_t token = pick_token(logits, o, l.rng);
      if (std::find(o.stop_tokens.begin(), o.stop_tokens.end(), token) != o.stop_tokens.end()) {
        retire(FinishReason::Stop);
        continue;
      }
      result.tokens.push_back(token);
      if (o.logprobs) result.logprobs.push_back(token_logprob({l.logits.data(), vocab}, token, o.top_logprobs));
      if (o.on_token && o.on_token(result)) {
        retire(FinishReason::Stop);
        continue;
      }
      if (result.tokens.size() >= o.max_tokens) {
        retire(FinishReason::Length);
        continue;
      }
      l.pending = token;
      next.push_back(std::move(l));
    }
    live = std::move(next);
    if (live.empty()) continue;  // maybe more to admit
    std::vector<Segment> segments;
    for (auto& l : live) segments.push_back({&l.state, {&l.pending, 1}});
    const std::vector<float> logits = model.forward(segments, LogitsFor::LastToken);
    for (std::size_t i = 0; i < live.size(); ++i)
      live[i].logits.assign(logits.begin() + static_cast<std::ptrdiff_t>(i * vocab),
                            logits.begin() + static_cast<std::ptrdiff_t>((i + 1) * vocab));
  }
}

std::vector<GenerationResult> generate_batch(CausalLM& model, std::span<const GenerationRequest> requests,
                                             const GenerationLimits& limits) {
  for (const auto& r : requests) validate_request(r);
  // Each request's copy records its result when it finishes; the next ones take free places in order.
  std::vector<GenerationResult> results(requests.size());
  std::vector<GenerationRequest> copies(requests.begin(), requests.end());
  for (std::size_t i = 0; i < copies.size(); ++i)
    copies[i].options.on_finish = [&results, i, user = requests[i].options.on_finish](const GenerationResult& r) {
      results[i] = r;
      if (user) user(r);
    };
  std::size_t next = 0;
  generate_continuous(
      model,
      [&](std::size_t free) {
        std::vector<const GenerationRequest*> admitted;
        while (admitted.size() < free && next < copies.size()) admitted.push_back(&copies[next++]);
        return admitted;
      },
      limits);
  return results;
}

GenerationResult generate(CausalLM& model, const GenerationRequest& request) {
  return generate_batch(model, {&request, 1}).front();
}

}  // namespace qk::engine
