#include "heads/probe_sample.hpp"

#include <optional>

#include "niah/data_files.hpp"
#include "niah/essay_haystack.hpp"
#include "niah/sample_jsonl.hpp"
#include "niah/task_set.hpp"
#include "util/error.hpp"

namespace qk::heads {

namespace {

// [begin, end) character offsets of each token in the decoded text, or nothing when the tokens do
// not decode one by one to the whole text (a multi-byte character split across tokens).
std::optional<std::vector<std::pair<std::size_t, std::size_t>>> token_offsets(const Tokenizer& tokenizer,
                                                                              const std::vector<std::int32_t>& ids, std::string& text) {
  text = tokenizer.decode(ids);
  std::vector<std::pair<std::size_t, std::size_t>> offsets;
  std::string joined;
  for (std::int32_t id : ids) {
    const std::string piece = tokenizer.decode(std::span<const std::int32_t>(&id, 1));
    offsets.emplace_back(joined.size(), joined.size() + piece.size());
    joined += piece;
  }
  if (joined != text) return std::nullopt;
  return offsets;
}

}  // namespace

ProbeSample make_probe_sample(const niah::Sample& sample, const Tokenizer& tokenizer) {
  if (sample.outputs.empty()) fail(ErrorKind::Format, "NIAH sample {} has no expected value", sample.id);
  ProbeSample p;
  p.id = sample.id;
  p.references = sample.outputs;
  const std::string text = sample.input + sample.answer_prefix;
  p.prompt = tokenizer.encode(text, true);
  const std::string& value = sample.outputs.front();
  // The answer as the continuation of the prompt: the prompt's tokens must stay as they are.
  const auto full = tokenizer.encode(text + " " + value, true);
  if (full.size() > p.prompt.size() && std::equal(p.prompt.begin(), p.prompt.end(), full.begin()))
    p.answer.assign(full.begin() + static_cast<std::ptrdiff_t>(p.prompt.size()), full.end());
  else
    p.answer = tokenizer.encode(" " + value, false);
  std::string decoded;
  const auto offsets = token_offsets(tokenizer, p.prompt, decoded);
  const std::size_t at = decoded.find(value);
  if (at == std::string::npos) fail(ErrorKind::Format, "NIAH sample {}: its value '{}' does not occur in its prompt", sample.id, value);
  if (offsets) {
    for (std::size_t i = 0; i < offsets->size(); ++i)
      if ((*offsets)[i].first < at + value.size() && (*offsets)[i].second > at) p.needle.push_back(i);
  } else {
    // Token counts of the text before and through the value (one token of slack on each side).
    const std::size_t before = tokenizer.encode(decoded.substr(0, at), false).size();
    const std::size_t through = tokenizer.encode(decoded.substr(0, at + value.size()), false).size();
    const std::size_t shift = p.prompt.size() - tokenizer.encode(decoded, false).size();  // special tokens in front
    for (std::size_t i = before == 0 ? 0 : before - 1; i < std::min(through + 1, tokenizer.encode(decoded, false).size()); ++i)
      p.needle.push_back(i + shift);
  }
  return p;
}

std::vector<niah::Sample> generate_niah_samples(const std::string& tokenizer_dir, const std::string& task, const std::vector<int>& lengths,
                                                int per_length, std::uint64_t seed, const std::string& template_name,
                                                int tokens_to_generate) {
  using namespace qk::niah;
  TaskSetPlan plan;
  plan.tasks = parse_task_list(task);
  plan.lengths = lengths;
  plan.samples = per_length;
  GeneratorOptions options;
  options.seed = seed;
  options.tokens_to_generate = tokens_to_generate;
  options.model_template = backend::builtin_model_template(template_name);
  const auto data_dir = find_niah_data_dir();
  const WordList words = WordList::load(data_dir / "adjectives.txt", data_dir / "nouns.txt");
  std::optional<EssayHaystack> essay;
  for (const auto& t : plan.tasks)
    if (t.haystack == HaystackKind::Essay && !essay) essay = EssayHaystack::load(data_dir / kDefaultHaystackFile);
  const auto counter = load_tokenizer_counter(tokenizer_dir);
  const SampleGenerator generator(*counter, words, essay ? &*essay : nullptr, options);
  std::vector<Sample> samples;
  for (const auto& request : plan_requests(plan)) samples.push_back(generator.generate(request));
  return samples;
}

std::vector<niah::Sample> read_niah_samples(const std::string& tasks_jsonl) {
  std::vector<niah::Sample> samples;
  for (const auto& location : niah::index_task_file(tasks_jsonl)) samples.push_back(niah::read_sample_at(tasks_jsonl, location));
  if (samples.empty()) fail(ErrorKind::Format, "{}: no NIAH sample", tasks_jsonl);
  return samples;
}

}  // namespace qk::heads
