#include "niah/sample_generator.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "util/error.hpp"

namespace qk::niah {

const std::vector<int>& ruler_depths() {
  static const std::vector<int> depths = [] {
    std::vector<int> out;
    // linspace(0, 100, 40) never lands on a .5, so round-half-even and lround agree.
    for (int i = 0; i < 40; ++i) out.push_back(static_cast<int>(std::lround(100.0 * i / 39.0)));
    return out;
  }();
  return depths;
}

std::string sample_id(const SampleRequest& request) {
  if (request.grid_depth)
    return fmt::format("{}/{}/d{:g}/{}", request.task->name, request.max_seq_length, *request.grid_depth, request.index);
  return fmt::format("{}/{}/{}", request.task->name, request.max_seq_length, request.index);
}

SampleGenerator::SampleGenerator(const TokenCounter& counter, const WordList& words, const EssayHaystack* essay,
                                 GeneratorOptions options)
    : counter_(counter), words_(words), essay_(essay), options_(std::move(options)) {
  if (essay_) essay_tokens_.emplace(*essay_, counter_);
  noise_first_tokens_ = counter_.count(kNoiseBlock);
  noise_next_tokens_ = counter_.count("\n" + std::string(kNoiseBlock));
}

namespace {

// What one sample draws before its haystack size is known.
struct NeedleDraw {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> values;  // per key
  std::vector<std::string> needles;              // in the order they are placed
  std::vector<std::string> queries;
  std::vector<std::string> answers;
  std::vector<double> depths;  // essay: depth percents, ascending; lines: fractions in [0, 1)
};

struct Context {
  std::string text;
  std::vector<double> depth_percent;  // per needle, in draw.needles order
};

// RULER's essay branch: sentences of the first n words; needle i goes before sentence
// int(S * depth_i / 100) (depths ascending); the pieces between are joined by single spaces, empty
// pieces included (so two needles at one depth are two spaces apart, as in RULER).
Context build_essay_context(const EssayHaystack& essay, std::size_t n, const NeedleDraw& draw) {
  const std::size_t sentences = essay.sentence_count(n);
  std::vector<std::size_t> cuts{0};
  for (double depth : draw.depths) cuts.push_back(static_cast<std::size_t>(static_cast<double>(sentences) * (depth / 100.0)));
  cuts.push_back(sentences);
  Context context;
  context.text.reserve(n * 6 + 200);
  for (std::size_t i = 1; i < cuts.size(); ++i) {
    if (i > 1) context.text += ' ';
    std::size_t first = essay.sentence_start(cuts[i - 1], n), last = essay.sentence_start(cuts[i], n);
    for (std::size_t w = first; w < last; ++w) {
      if (w > first) context.text += ' ';
      context.text += essay.word(w);
    }
    if (i - 1 < draw.needles.size()) {
      context.text += ' ';
      context.text += draw.needles[i - 1];
    }
  }
  context.depth_percent = draw.depths;
  return context;
}

// RULER's noise and needle branches: n lines; indexes sorted descending, needle i inserted at index i,
// joined by newlines. Indexes here are floor(fraction * n) so they do not depend on the RNG stream.
template <typename Line>
Context build_line_context(std::size_t n, const Line& line, const NeedleDraw& draw, std::optional<double> grid_depth) {
  std::vector<std::size_t> indexes;
  for (double fraction : draw.depths) {
    double f = grid_depth ? *grid_depth / 100.0 : fraction;
    indexes.push_back(std::min(n, static_cast<std::size_t>(f * static_cast<double>(n))));
  }
  std::sort(indexes.rbegin(), indexes.rend());
  std::vector<std::string_view> lines;
  lines.reserve(n + indexes.size());
  for (std::size_t i = 0; i < n; ++i) lines.push_back(line(i));
  for (std::size_t i = 0; i < indexes.size(); ++i)
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(indexes[i]), draw.needles[i]);
  Context context;
  std::size_t bytes = 0;
  for (auto l : lines) bytes += l.size() + 1;
  context.text.reserve(bytes);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) context.text += '\n';
    context.text += lines[i];
  }
  for (std::size_t index : indexes)
    context.depth_percent.push_back(std::round(10000.0 * static_cast<double>(index) / static_cast<double>(n)) / 100.0);
  return context;
}

}  // namespace

Sample SampleGenerator::generate(const SampleRequest& request) const {
  const TaskSpec& task = *request.task;
  const std::uint64_t depth_bits = request.grid_depth ? std::bit_cast<std::uint64_t>(*request.grid_depth) : 0;
  const std::uint64_t sample_seed =
      mix_seed({options_.seed, fnv1a64(task.name), static_cast<std::uint64_t>(request.max_seq_length),
                static_cast<std::uint64_t>(request.index), depth_bits});
  Rng rng(sample_seed);
  const std::string plural(value_kind_name(task.value_kind));
  if (task.haystack == HaystackKind::Essay && !essay_)
    fail(ErrorKind::Usage, "task {} needs an essay haystack", task.name);

  // Keys and values, key by key (RULER's order of draws).
  NeedleDraw draw;
  const int num_keys = std::max(task.num_keys, task.num_queries);
  for (int k = 0; k < num_keys; ++k) {
    draw.keys.push_back(random_value(task.key_kind, rng, words_));
    draw.values.emplace_back();
    for (int v = 0; v < task.values_per_key; ++v) {
      draw.values.back().push_back(random_value(task.value_kind, rng, words_));
      draw.needles.push_back(format_needle(plural, draw.keys.back(), draw.values.back().back()));
    }
  }
  // RULER shuffles with random.Random(args.random_seed): the same permutation for every sample.
  Rng(options_.seed).shuffle(draw.needles);

  if (task.haystack == HaystackKind::Essay) {
    if (request.grid_depth) {
      draw.depths.assign(draw.needles.size(), *request.grid_depth);
    } else {
      for (std::size_t pick : rng.sample(ruler_depths().size(), draw.needles.size()))
        draw.depths.push_back(ruler_depths()[pick]);
      std::sort(draw.depths.begin(), draw.depths.end());
    }
  } else {
    for (std::size_t i = 0; i < draw.needles.size(); ++i) draw.depths.push_back(rng.unit());
  }
  for (std::size_t index : rng.sample(static_cast<std::size_t>(num_keys), static_cast<std::size_t>(task.num_queries))) {
    draw.queries.push_back(draw.keys[index]);
    for (const auto& value : draw.values[index]) draw.answers.push_back(value);
  }

  const PromptFrame frame = build_prompt_frame(options_.model_template, plural, join_queries(draw.queries),
                                               task.num_queries * task.values_per_key == 1);
  const std::int64_t budget =
      static_cast<std::int64_t>(request.max_seq_length) - options_.tokens_to_generate - options_.reserve_tokens;
  const std::string separator = task.haystack == HaystackKind::Essay ? " " : "\n";
  std::int64_t fixed_tokens = static_cast<std::int64_t>(counter_.count(frame.head) + counter_.count(frame.tail));
  for (const auto& needle : draw.needles) fixed_tokens += static_cast<std::int64_t>(counter_.count(separator + needle));
  const std::int64_t available = budget - fixed_tokens;

  // Decoy lines of the needle haystack come from their own stream, so line i is the same whatever
  // the haystack size, and are made (and counted) only as far as sizing asks.
  Rng decoy_rng(mix_seed({sample_seed, 0xdec0ULL}));
  std::vector<std::string> decoys;
  std::vector<std::uint64_t> decoy_prefix{0};
  auto ensure_decoys = [&](std::size_t n) {
    while (decoys.size() < n) {
      std::string key = random_value(task.key_kind, decoy_rng, words_);
      decoys.push_back(format_needle(plural, key, random_value(task.value_kind, decoy_rng, words_)));
      decoy_prefix.push_back(decoy_prefix.back() + counter_.count(decoys.size() == 1 ? decoys.back() : "\n" + decoys.back()));
    }
  };
  auto estimate = [&](std::size_t n) -> std::int64_t {  // tokens of a context of n haystack units
    if (n == 0) return 0;
    switch (task.haystack) {
      case HaystackKind::Essay: return static_cast<std::int64_t>(essay_tokens_->tokens_of_first(n));
      case HaystackKind::Noise: return static_cast<std::int64_t>(noise_first_tokens_ + (n - 1) * noise_next_tokens_);
      case HaystackKind::Needle: ensure_decoys(n); return static_cast<std::int64_t>(decoy_prefix[n]);
    }
    return 0;
  };
  auto build = [&](std::size_t n) -> Context {
    switch (task.haystack) {
      case HaystackKind::Essay: return build_essay_context(*essay_, n, draw);
      case HaystackKind::Noise:
        return build_line_context(n, [](std::size_t) { return kNoiseBlock; }, draw, request.grid_depth);
      case HaystackKind::Needle:
        ensure_decoys(n);
        return build_line_context(n, [&](std::size_t i) { return std::string_view(decoys[i]); }, draw, request.grid_depth);
    }
    return {};
  };

  if (available < estimate(1))
    fail(ErrorKind::Usage, "{}: length {} leaves no room for a haystack ({} tokens of template and needles + {} generated)",
         task.name, request.max_seq_length, fixed_tokens, options_.tokens_to_generate + options_.reserve_tokens);
  // Largest n whose estimate fits: grow by doubling, then bisect.
  std::size_t low = 1, high = 2;
  while (estimate(high) <= available) low = high, high *= 2;
  while (high - low > 1) {
    std::size_t mid = low + (high - low) / 2;
    (estimate(mid) <= available ? low : high) = mid;
  }

  // Confirm with the real count of the whole prompt; move n by the token error until the largest
  // fitting n is bracketed (one tokenization when the estimate is exact, a few otherwise).
  std::size_t n = low, fit = 0, over = std::numeric_limits<std::size_t>::max();
  Context best;
  std::int64_t best_tokens = 0;
  for (int attempt = 0; attempt < 32; ++attempt) {
    Context context = build(n);
    const std::int64_t tokens =
        static_cast<std::int64_t>(counter_.count(frame.head + context.text + frame.tail));
    const double per_unit = std::max(1.0, static_cast<double>(estimate(n)) / static_cast<double>(n));
    if (tokens <= budget) {
      fit = n;
      best = std::move(context);
      best_tokens = tokens;
      const std::int64_t slack = budget - tokens;
      if (n + 1 >= over || slack < estimate(n + 1) - estimate(n)) break;
      n = std::min(over - 1, n + std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(slack) / per_unit)));
    } else {
      over = n;
      if (fit + 1 >= over) break;
      const auto excess = static_cast<double>(tokens - budget);
      const auto step = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(excess / per_unit)));
      n = std::max(fit + 1, n > step ? n - step : 1);
    }
  }
  if (fit == 0)
    fail(ErrorKind::Usage, "{}: no haystack size fits length {} with this tokenizer", task.name, request.max_seq_length);

  Sample sample;
  sample.index = request.index;
  sample.input = frame.head + best.text + frame.tail.substr(0, frame.answer_prefix_offset);
  sample.answer_prefix = frame.tail.substr(frame.answer_prefix_offset);
  sample.outputs = draw.answers;
  sample.length = static_cast<int>(best_tokens) + options_.tokens_to_generate;
  sample.length_w_model_temp = sample.length + options_.reserve_tokens;
  const std::size_t answer_at = sample.input.find(draw.answers.front());
  sample.token_position_answer =
      static_cast<int>(counter_.count(std::string_view(sample.input).substr(0, answer_at)));
  sample.id = sample_id(request);
  sample.task = task.name;
  sample.max_seq_length = request.max_seq_length;
  // The needle asked about first: its depth is the one a heatmap plots.
  const std::string asked = format_needle(plural, draw.queries.front(), draw.answers.front());
  for (std::size_t i = 0; i < draw.needles.size(); ++i)
    if (draw.needles[i] == asked) sample.depth_percent = best.depth_percent[i];
  if (request.grid_depth) sample.depth_percent = *request.grid_depth;
  sample.needle_depths = best.depth_percent;
  std::sort(sample.needle_depths.begin(), sample.needle_depths.end());
  sample.grid_depth = request.grid_depth;
  sample.num_haystack = fit;
  sample.haystack = task.haystack == HaystackKind::Essay ? "essay:" + essay_->source()
                                                         : std::string(haystack_kind_name(task.haystack));
  sample.template_name = options_.model_template.name;
  sample.seed = options_.seed;
  return sample;
}

}  // namespace qk::niah
