// NIAH samples as `heads` uses them: the prompt's token ids, the answer's (teacher-forced for the
// attention probes), and where the needle's value tokens sit in the prompt.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "niah/sample_generator.hpp"
#include "tokenizer/tokenizer.hpp"

namespace qk::heads {

struct ProbeSample {
  std::string id;
  std::vector<std::string> references;  // the expected values (RULER's outputs)
  std::vector<std::int32_t> prompt;     // input + answer prefix, with the tokenizer's special tokens
  std::vector<std::int32_t> answer;     // " <value>" as the model would continue the prompt
  std::vector<std::size_t> needle;      // positions in `prompt` of the tokens spelling the first value
};

// Throws Error(Format) naming the sample when its first value does not occur in its input.
ProbeSample make_probe_sample(const niah::Sample& sample, const Tokenizer& tokenizer);

// RULER NIAH samples made in-process with the shipped haystack and word lists: `task` at each of
// `lengths`, `per_length` samples each, ChatML-wrapped as the demo's (template "chatml").
std::vector<niah::Sample> generate_niah_samples(const std::string& tokenizer_dir, const std::string& task, const std::vector<int>& lengths,
                                                int per_length, std::uint64_t seed, const std::string& template_name,
                                                int tokens_to_generate);
// Every sample of a task JSONL (`qkrestore niah generate` output).
std::vector<niah::Sample> read_niah_samples(const std::string& tasks_jsonl);

}  // namespace qk::heads
