#include "niah/sample_generator.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
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
  const std::string line = std::string(kNoiseBlock) + "\n";
  noise_line_tokens_ = counter_.count(line);
  noise_additive_ = counter_.count(line + line) == 2 * noise_line_tokens_;
}

namespace {

// What one sample draws before its haystack size is known.
struct NeedleDraw {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> values;  // per key
  std::vector<std::string> needles;              // in the order RULER places them
  std::vector<std::string> queries;
  std::vector<std::string> answers;
  std::vector<double> depths;  // essay: depth percents, ascending; lines: fractions in [0, 1)
};

// A stretch of the prompt with a known token count; left and right are its first and last unit.
struct Segment {
  std::int64_t tokens = 0;
  std::string left, right;
  int needle = -1;  // index into NeedleDraw::needles, or -1
  std::size_t offset = 0;  // where the stretch starts in the prompt
};

struct Context {
  std::string text;
  std::vector<Segment> segments;      // in prompt order
  std::vector<double> depth_percent;  // per needle, in NeedleDraw::needles order
};

// RULER's essay branch: sentences of the first n words; needle i goes before sentence
// int(S * depth_i / 100) (depths ascending); the pieces [run0, needle0, run1, ..., run_k] are joined
// by single spaces, empty runs included (so two needles at one depth are two spaces apart, as in RULER).
// Each separator is counted with the piece after it: " word" is how the index counts words.
Context build_essay_context(const EssayHaystack& essay, const EssayTokenIndex& index, const TokenCounter& counter,
                            std::size_t n, const NeedleDraw& draw, std::size_t base_offset) {
  const std::size_t sentences = essay.sentence_count(n);
  std::vector<std::size_t> cuts{0};
  for (double depth : draw.depths) cuts.push_back(static_cast<std::size_t>(static_cast<double>(sentences) * (depth / 100.0)));
  cuts.push_back(sentences);
  Context context;
  context.text.reserve(n * 6 + 200);
  for (std::size_t i = 1; i < cuts.size(); ++i) {
    const std::string separator = i > 1 ? " " : "";
    const std::size_t first = essay.sentence_start(cuts[i - 1], n), last = essay.sentence_start(cuts[i], n);
    Segment run;
    run.offset = base_offset + context.text.size();
    if (first == last) {
      run.left = run.right = separator;  // an empty piece leaves its separator alone
      run.tokens = separator.empty() ? 0 : static_cast<std::int64_t>(counter.count(separator));
    } else {
      run.left = separator + essay.word(first);
      run.right = (last - 1 == first ? separator : std::string(" ")) + essay.word(last - 1);
      run.tokens = static_cast<std::int64_t>(index.spaced_tokens(first, last));
      if (separator.empty())  // the context's first word has no space before it
        run.tokens += static_cast<std::int64_t>(counter.count(essay.word(first))) -
                      static_cast<std::int64_t>(counter.count(" " + essay.word(first)));
    }
    context.text += separator;
    for (std::size_t w = first; w < last; ++w) {
      if (w > first) context.text += ' ';
      context.text += essay.word(w);
    }
    if (!run.left.empty()) context.segments.push_back(std::move(run));
    if (i - 1 < draw.needles.size()) {
      Segment needle;
      needle.offset = base_offset + context.text.size();
      needle.left = needle.right = " " + draw.needles[i - 1];
      needle.tokens = static_cast<std::int64_t>(counter.count(needle.left));
      needle.needle = static_cast<int>(i - 1);
      context.text += needle.left;
      context.segments.push_back(std::move(needle));
    }
  }
  context.depth_percent = draw.depths;
  return context;
}

// RULER's noise and needle branches: n lines, needle j inserted at index j of the indexes sorted
// descending (so the needles end up in reverse order), joined by newlines. Indexes here are
// floor(fraction * n), so they do not depend on the RNG stream. Each line is counted with the newline
// after it ("line\n"); the last line borrows the newline that starts the template's tail.
Context build_line_context(std::size_t n, const std::function<std::string_view(std::size_t)>& line,
                           const std::function<std::int64_t(std::size_t, std::size_t)>& run_tokens,
                           const TokenCounter& counter, const NeedleDraw& draw, std::optional<double> grid_depth,
                           std::size_t base_offset) {
  std::vector<std::size_t> indexes;
  for (double fraction : draw.depths) {
    const double f = grid_depth ? *grid_depth / 100.0 : fraction;
    indexes.push_back(std::min(n, static_cast<std::size_t>(f * static_cast<double>(n))));
  }
  std::sort(indexes.rbegin(), indexes.rend());
  Context context;
  for (std::size_t j = 0; j < indexes.size(); ++j)
    context.depth_percent.push_back(std::round(10000.0 * static_cast<double>(indexes[j]) / static_cast<double>(n)) / 100.0);
  std::size_t next_line = 0;
  auto add_run = [&](std::size_t end) {
    if (end <= next_line) return;
    Segment run;
    run.offset = base_offset + context.text.size();
    run.left = std::string(line(next_line)) + "\n";
    run.right = std::string(line(end - 1)) + "\n";
    run.tokens = run_tokens(next_line, end);
    for (std::size_t i = next_line; i < end; ++i) (context.text += line(i)) += '\n';
    context.segments.push_back(std::move(run));
    next_line = end;
  };
  for (std::size_t k = indexes.size(); k-- > 0;) {  // needles in prompt order: j = k-1 ... 0
    add_run(indexes[k]);
    Segment needle;
    needle.offset = base_offset + context.text.size();
    needle.left = needle.right = draw.needles[k] + "\n";
    needle.tokens = static_cast<std::int64_t>(counter.count(needle.left));
    needle.needle = static_cast<int>(k);
    context.text += needle.left;
    context.segments.push_back(std::move(needle));
  }
  add_run(n);
  context.text.pop_back();  // the newline after the last line belongs to the template's tail
  return context;
}

}  // namespace

std::uint64_t sample_seed(std::uint64_t generator_seed, std::string_view task_name, int max_seq_length, int index,
                          std::optional<double> grid_depth) {
  // RULER's layout has no depth; a grid depth enters as a flag and its bit pattern, so depth 0.0 and "no
  // depth" differ.
  const std::uint64_t has_depth = grid_depth ? 1 : 0, depth_bits = grid_depth ? std::bit_cast<std::uint64_t>(*grid_depth) : 0;
  return mix_seed({generator_seed, fnv1a64(task_name), static_cast<std::uint64_t>(max_seq_length),
                   static_cast<std::uint64_t>(index), has_depth, depth_bits});
}

Sample SampleGenerator::generate(const SampleRequest& request) const {
  const TaskSpec& task = *request.task;
  const std::uint64_t seed = sample_seed(options_.seed, task.name, request.max_seq_length, request.index, request.grid_depth);
  Rng rng(seed);
  const std::string plural(value_kind_name(task.value_kind));
  const bool essay_task = task.haystack == HaystackKind::Essay;
  if (essay_task && !essay_) fail(ErrorKind::Usage, "task {} needs an essay haystack", task.name);

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

  if (essay_task) {
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
  if (!essay_task && !frame.tail.starts_with("\n"))
    fail(ErrorKind::Format, "prompt template: the task text must follow {{context}} with a newline");
  const std::int64_t budget =
      static_cast<std::int64_t>(request.max_seq_length) - options_.tokens_to_generate - options_.reserve_tokens;

  // The prompt's fixed stretches: head, tail (line haystacks: without its first newline, which the
  // last line's unit holds) and the needles.
  Segment head{static_cast<std::int64_t>(counter_.count(frame.head)), frame.head, frame.head};
  const std::string tail_text = essay_task ? frame.tail : frame.tail.substr(1);
  Segment tail{static_cast<std::int64_t>(counter_.count(tail_text)), tail_text, tail_text};
  std::int64_t fixed_tokens = head.tokens + tail.tokens;
  for (const auto& needle : draw.needles)
    fixed_tokens += static_cast<std::int64_t>(counter_.count(essay_task ? " " + needle : needle + "\n"));
  const std::int64_t available = budget - fixed_tokens;

  // Decoy lines of the needle haystack come from their own stream, so line i is the same whatever
  // the haystack size, and are made (and counted, with their newline) only as far as sizing asks.
  Rng decoy_rng(mix_seed({seed, 0xdec0ULL}));
  std::vector<std::string> decoys;
  std::vector<std::int64_t> decoy_prefix{0};
  auto ensure_decoys = [&](std::size_t n) {
    while (decoys.size() < n) {
      std::string key = random_value(task.key_kind, decoy_rng, words_);
      decoys.push_back(format_needle(plural, key, random_value(task.value_kind, decoy_rng, words_)));
      decoy_prefix.push_back(decoy_prefix.back() + static_cast<std::int64_t>(counter_.count(decoys.back() + "\n")));
    }
  };
  auto line_run_tokens = [&](std::size_t first, std::size_t last) -> std::int64_t {
    if (task.haystack == HaystackKind::Noise) return static_cast<std::int64_t>((last - first) * noise_line_tokens_);
    ensure_decoys(last);
    return decoy_prefix[last] - decoy_prefix[first];
  };
  auto estimate = [&](std::size_t n) -> std::int64_t {  // tokens of a haystack of n units
    if (n == 0) return 0;
    return essay_task ? static_cast<std::int64_t>(essay_tokens_->tokens_of_first(n)) : line_run_tokens(0, n);
  };
  auto build = [&](std::size_t n) -> Context {
    if (essay_task) return build_essay_context(*essay_, *essay_tokens_, counter_, n, draw, frame.head.size());
    if (task.haystack == HaystackKind::Noise)
      return build_line_context(n, [](std::size_t) { return kNoiseBlock; }, line_run_tokens, counter_, draw,
                                request.grid_depth, frame.head.size());
    ensure_decoys(n);
    return build_line_context(n, [&](std::size_t i) { return std::string_view(decoys[i]); }, line_run_tokens, counter_,
                              draw, request.grid_depth, frame.head.size());
  };
  auto seam = [&](const std::string& left, const std::string& right) -> std::int64_t {
    return static_cast<std::int64_t>(counter_.count(left + right)) - static_cast<std::int64_t>(counter_.count(left)) -
           static_cast<std::int64_t>(counter_.count(right));
  };
  const bool full_count = options_.full_token_count || (essay_task ? !essay_tokens_->additive()
                                                                   : task.haystack == HaystackKind::Noise && !noise_additive_);
  // Tokens of the whole prompt: one real tokenization, or the stretches' counts plus seam corrections.
  auto count_prompt = [&](const Context& context) -> std::int64_t {
    if (full_count) return static_cast<std::int64_t>(counter_.count(frame.head + context.text + frame.tail));
    std::int64_t total = head.tokens + tail.tokens;
    const Segment* previous = &head;
    for (const auto& segment : context.segments) {
      total += segment.tokens + seam(previous->right, segment.left);
      previous = &segment;
    }
    return total + seam(previous->right, tail.left);
  };

  if (available < estimate(1))
    fail(ErrorKind::Usage, "{}: length {} leaves no room for a haystack ({} tokens of template and needles + {} generated)",
         task.name, request.max_seq_length, fixed_tokens, options_.tokens_to_generate + options_.reserve_tokens);
  // Largest n whose estimate fits: grow by doubling, then bisect.
  std::size_t low = 1, high = 2;
  while (estimate(high) <= available) low = high, high *= 2;
  while (high - low > 1) {
    const std::size_t mid = low + (high - low) / 2;
    (estimate(mid) <= available ? low : high) = mid;
  }

  // Count the prompt for real and move n by the token error until the largest fitting n is
  // bracketed (one count when the estimate was right, a few otherwise).
  std::size_t n = low, fit = 0, over = std::numeric_limits<std::size_t>::max();
  Context best;
  std::int64_t best_tokens = 0;
  for (int attempt = 0; attempt < 32; ++attempt) {
    Context context = build(n);
    const std::int64_t tokens = count_prompt(context);
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

  // The needle asked about first: its depth is the one a heatmap plots, and the tokens before its
  // value are RULER's token_position_answer.
  const std::string asked = format_needle(plural, draw.queries.front(), draw.answers.front());
  const std::size_t answer_at = sample.input.find(draw.answers.front());
  std::int64_t before_answer = -1;
  std::int64_t running = head.tokens;
  const Segment* previous = &head;
  for (const auto& segment : best.segments) {
    if (segment.needle >= 0 && draw.needles[static_cast<std::size_t>(segment.needle)] == asked) {
      sample.depth_percent = best.depth_percent[static_cast<std::size_t>(segment.needle)];
      const std::size_t value_in_segment = segment.left.find(draw.answers.front());
      if (!full_count && segment.offset + value_in_segment == answer_at) {
        const std::string lead = segment.left.substr(0, value_in_segment);
        before_answer = running + seam(previous->right, lead) + static_cast<std::int64_t>(counter_.count(lead));
      }
      break;
    }
    running += segment.tokens + seam(previous->right, segment.left);
    previous = &segment;
  }
  if (before_answer < 0)  // the value also occurs earlier, or counts are not additive: count for real
    before_answer = static_cast<std::int64_t>(counter_.count(std::string_view(sample.input).substr(0, answer_at)));
  sample.token_position_answer = static_cast<int>(before_answer);
  if (request.grid_depth) sample.depth_percent = *request.grid_depth;
  sample.needle_depths = best.depth_percent;
  std::sort(sample.needle_depths.begin(), sample.needle_depths.end());

  sample.id = sample_id(request);
  sample.task = task.name;
  sample.max_seq_length = request.max_seq_length;
  sample.grid_depth = request.grid_depth;
  sample.num_haystack = fit;
  sample.haystack = essay_task ? "essay:" + essay_->source() : std::string(haystack_kind_name(task.haystack));
  sample.template_name = options_.model_template.name;
  sample.seed = options_.seed;
  return sample;
}

}  // namespace qk::niah
