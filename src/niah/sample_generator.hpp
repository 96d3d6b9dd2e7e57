// Generates one RULER NIAH sample: draws keys, values and depths from the sample's own seeded stream,
// then sizes the haystack so that the prompt's tokens plus the generated tokens fit the target length,
// as RULER's binary search over the haystack size does, but per sample and in token counts: estimate
// from per-unit counts, then confirm (and correct) with real tokenizations of the whole prompt.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "niah/essay_haystack.hpp"
#include "niah/needle_values.hpp"
#include "niah/ruler_prompt.hpp"
#include "niah/task_spec.hpp"
#include "niah/token_counter.hpp"

namespace qk::niah {

// The version of the sample streams: files of another version hold other samples for the same seed.
// 1: until 2026-12-06 (mix_seed let seeds collide: seed 7's samples were seed 42's, permuted);
// 2: every seed part through a 64-bit finalizer (niah/random.cpp).
inline constexpr int kGeneratorVersion = 2;

struct GeneratorOptions {
  int tokens_to_generate = 128;  // RULER's tokens_to_generate for NIAH
  int reserve_tokens = 0;        // RULER's model_template_token: tokens a server-side chat template adds
  std::uint64_t seed = 42;       // RULER's default random_seed
  backend::ModelTemplate model_template = backend::builtin_model_template("base");
  // Count every final prompt with one full tokenization instead of from per-unit counts and seams
  // (slower; the generator also does it by itself when its one-off additivity checks fail).
  bool full_token_count = false;
};

struct SampleRequest {
  const TaskSpec* task = nullptr;
  int max_seq_length = 0;
  int index = 0;                      // sample number within (task, length[, depth])
  std::optional<double> grid_depth;   // length x depth layout: every needle at this depth percent
};

// One line of the task JSONL. The first seven fields are RULER's (scripts/data/synthetic/niah.py);
// RULER overwrites `index` with the answer's character offset by accident, here it stays the index.
struct Sample {
  int index = 0;
  std::string input;                 // prompt up to the answer prefix
  std::vector<std::string> outputs;  // expected values
  int length = 0;                    // prompt tokens (input + answer_prefix) + tokens_to_generate
  int length_w_model_temp = 0;       // length + reserve_tokens
  std::string answer_prefix;         // to append to input (inside the assistant turn)
  int token_position_answer = 0;     // tokens of input before the first expected value
  // qkrestore's own fields
  std::string id;                    // "<task>/<length>/<index>" or "<task>/<length>/d<depth>/<index>"
  std::string task;
  int max_seq_length = 0;
  double depth_percent = 0;           // depth of the needle holding outputs[0] (grid: the cell's depth)
  std::vector<double> needle_depths;  // depth percent of every needle, ascending
  std::optional<double> grid_depth;
  std::size_t num_haystack = 0;       // haystack units: words (essay) or lines (noise, needle)
  std::string haystack;               // noise | essay:<source> | needle
  std::string template_name;
  std::uint64_t seed = 0;
  int generator_version = kGeneratorVersion;  // absent in a file: 1 (the field came with version 2)
};

// The seed of one sample's random stream: a function of the generator seed and the sample's place (task,
// length, index within the cell, grid depth: absent for RULER's layout). Distinct places give distinct
// seeds (tests/niah/seed_mixing_test.cpp), so two generator seeds never share a sample.
std::uint64_t sample_seed(std::uint64_t generator_seed, std::string_view task_name, int max_seq_length, int index,
                          std::optional<double> grid_depth);

// Sizing counts a prompt as stretches whose token counts are known (the template's head and tail,
// runs of haystack units from prefix sums, needles) plus a correction at each seam between stretches,
// where a pre-token may cross (e.g. "." + "\n" is one pre-token for Llama-3's regex): the count of the
// two edge units together minus their separate counts. That is exact as long as no pre-token spans
// more than two stretches, and it costs a few short tokenizations instead of one of the whole prompt.
class SampleGenerator {
 public:
  // `essay` may be null when no requested task uses the essay haystack.
  SampleGenerator(const TokenCounter& counter, const WordList& words, const EssayHaystack* essay, GeneratorOptions options);
  Sample generate(const SampleRequest& request) const;  // thread-safe

 private:
  const TokenCounter& counter_;
  const WordList& words_;
  const EssayHaystack* essay_;
  std::optional<EssayTokenIndex> essay_tokens_;
  GeneratorOptions options_;
  std::size_t noise_line_tokens_ = 0;  // "block\n"
  bool noise_additive_ = false;        // "block\nblock\n" counts as twice "block\n"
};

// RULER's 40 needle depths: np.round(np.linspace(0, 100, 40)).astype(int).
const std::vector<int>& ruler_depths();

std::string sample_id(const SampleRequest& request);

}  // namespace qk::niah
