// Properties every generated sample must have, for every task, in both layouts, with a real tokenizer.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "niah/sample_generator.hpp"
#include "niah/sample_jsonl.hpp"
#include "niah/task_set.hpp"
#include "niah_test_support.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

using namespace qk::niah;
using namespace qk::niah::testing;

namespace {

SampleGenerator make_generator(std::uint64_t seed = 11, const std::string& template_name = "base") {
  GeneratorOptions options;
  options.seed = seed;
  options.model_template = qk::backend::builtin_model_template(template_name);
  return SampleGenerator(test_counter(), shipped_words(), &shipped_essay(), options);
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// The keys asked about, read back from the question the way a reader would. (Plain string search:
// libstdc++'s std::regex recurses per character and overflows the stack on long prompts.)
std::vector<std::string> queried_keys(const Sample& s) {
  const std::size_t question = s.input.rfind("\nWhat ");
  const std::size_t start = s.input.find(" for ", question) + 5;
  const std::size_t end = s.input.find(" mentioned in the provided text?", start);
  EXPECT_TRUE(question != std::string::npos && end != std::string::npos) << s.id;
  std::string query = s.input.substr(start, end - start);
  std::vector<std::string> keys;
  for (std::size_t from = 0; from <= query.size();) {
    std::size_t comma = query.find(", ", from);
    if (comma == std::string::npos) comma = query.size();
    std::string key = query.substr(from, comma - from);
    if (key.starts_with("and ")) key = key.substr(4);
    keys.push_back(key);
    from = comma + 2;
  }
  return keys;
}

struct FoundNeedle {
  std::string type, key, value;
};

// Every "One of the special magic TYPE for KEY is: VALUE." in the text.
std::vector<FoundNeedle> find_needles(const std::string& text) {
  std::vector<FoundNeedle> found;
  const std::string opening = "One of the special magic ";
  for (std::size_t at = text.find(opening); at != std::string::npos; at = text.find(opening, at + 1)) {
    const std::size_t type_end = text.find(" for ", at + opening.size());
    const std::size_t key_end = text.find(" is: ", type_end);
    const std::size_t value_end = text.find('.', key_end + 5);
    if (type_end == std::string::npos || key_end == std::string::npos || value_end == std::string::npos) break;
    found.push_back({text.substr(at + opening.size(), type_end - at - opening.size()),
                     text.substr(type_end + 5, key_end - type_end - 5), text.substr(key_end + 5, value_end - key_end - 5)});
  }
  return found;
}

void expect_sample_properties(const Sample& s, const TaskSpec& task) {
  SCOPED_TRACE(s.id);
  // Length: within budget, equal to a fresh count, and the haystack fills it (less than one more unit left).
  const std::size_t prompt_tokens = test_counter().count(s.input + s.answer_prefix);
  EXPECT_EQ(static_cast<std::size_t>(s.length), prompt_tokens + 128);
  EXPECT_LE(s.length, s.max_seq_length);
  // One more haystack unit would not fit: a word or noise line is < 40 tokens; a decoy needle line
  // is about as long as a real needle (uuids vary, hence twice).
  const std::string plural(value_kind_name(task.value_kind));
  const int unit_bound = task.haystack == HaystackKind::Needle
                             ? 2 * static_cast<int>(test_counter().count(format_needle(plural, "k", s.outputs[0]) + "\n"))
                             : 40;
  EXPECT_LT(s.max_seq_length - s.length, unit_bound) << "haystack does not fill the target length";
  EXPECT_GT(s.num_haystack, 0u);

  // Answers recoverable: the needles for the queried keys, found by their fixed wording, give exactly the outputs.
  const auto keys = queried_keys(s);
  EXPECT_EQ(static_cast<int>(keys.size()), task.num_queries);
  std::vector<std::string> recovered;
  for (const auto& needle : find_needles(s.input)) {
    EXPECT_EQ(needle.type, plural);
    if (std::find(keys.begin(), keys.end(), needle.key) != keys.end()) recovered.push_back(needle.value);
  }
  std::vector<std::string> expected = s.outputs;
  std::sort(expected.begin(), expected.end());
  std::sort(recovered.begin(), recovered.end());
  EXPECT_EQ(recovered, expected);
  EXPECT_EQ(static_cast<int>(s.outputs.size()), task.num_queries * task.values_per_key);

  // Every needle present exactly once.
  for (std::size_t i = 0; i < s.outputs.size(); ++i) {
    bool found = false;
    for (const auto& key : keys) {
      const std::string text = format_needle(plural, key, s.outputs[i]);
      const std::size_t n = occurrences(s.input, text);
      EXPECT_LE(n, 1u) << text;
      found |= n == 1;
    }
    EXPECT_TRUE(found) << s.outputs[i];
  }
  EXPECT_EQ(s.answer_prefix.find(" The special magic"), 0u);
  EXPECT_EQ(s.needle_depths.size(), static_cast<std::size_t>(task.num_keys * task.values_per_key));
}

// Relative position of the asked needle inside the haystack part of the prompt.
double needle_position_percent(const Sample& s, const TaskSpec& task) {
  const std::string plural(value_kind_name(task.value_kind));
  const std::size_t begin = s.input.find('\n') + 1;  // the haystack starts after the first line
  const std::size_t end = s.input.rfind("\nWhat ");
  const std::string asked = format_needle(plural, queried_keys(s).front(), s.outputs.front());
  const std::size_t at = s.input.find(asked);
  EXPECT_NE(at, std::string::npos);
  return 100.0 * static_cast<double>(at - begin) / static_cast<double>(end - begin);
}

}  // namespace

TEST(NiahGenerator, RulerLayoutSamplesHaveEveryPropertyForEveryTask) {
  const SampleGenerator generator = make_generator();
  for (const auto& task : ruler_niah_tasks())
    for (int length : {1024, 4096})
      for (int index = 0; index < 3; ++index) expect_sample_properties(generator.generate({&task, length, index, {}}), task);
}

TEST(NiahGenerator, GridSamplesPutTheNeedleAtTheStatedDepth) {
  const SampleGenerator generator = make_generator();
  for (const char* name : {"niah_single_1", "niah_single_2", "niah_multikey_2", "niah_multivalue"}) {
    const TaskSpec& task = find_task(name);
    for (double depth : {0.0, 25.0, 50.0, 75.0, 100.0}) {
      Sample s = generator.generate({&task, 8192, 0, depth});
      expect_sample_properties(s, task);
      EXPECT_EQ(s.depth_percent, depth);
      // Essay depth counts sentences (RULER), lines count lines; measured in characters, uneven
      // sentence lengths move an essay needle a little more.
      const double tolerance = task.haystack == HaystackKind::Essay ? 6.0 : 3.0;
      EXPECT_NEAR(needle_position_percent(s, task), depth, tolerance) << name << " depth " << depth;
    }
  }
}

TEST(NiahGenerator, RandomDepthsAreRulersFortyDepthsForEssays) {
  const SampleGenerator generator = make_generator();
  const TaskSpec& task = find_task("niah_single_2");
  for (int index = 0; index < 20; ++index) {
    Sample s = generator.generate({&task, 4096, index, {}});
    const auto& depths = ruler_depths();
    EXPECT_NE(std::find(depths.begin(), depths.end(), static_cast<int>(s.depth_percent)), depths.end());
    EXPECT_NEAR(needle_position_percent(s, task), s.depth_percent, 6.0);  // sentences vs characters
  }
}

TEST(NiahGenerator, SameSeedSameSampleOtherSeedOtherSample) {
  const TaskSpec& task = find_task("niah_multikey_1");
  const Sample a = make_generator(3).generate({&task, 2048, 5, {}});
  const Sample b = make_generator(3).generate({&task, 2048, 5, {}});
  const Sample c = make_generator(4).generate({&task, 2048, 5, {}});
  EXPECT_EQ(sample_to_json(a).dump(), sample_to_json(b).dump());
  EXPECT_NE(a.outputs, c.outputs);
}

TEST(NiahGenerator, ChatTemplateTokensCountTowardsTheLength) {
  const TaskSpec& task = find_task("niah_single_1");
  const Sample s = make_generator(1, "chatml").generate({&task, 2048, 0, {}});
  EXPECT_TRUE(s.input.starts_with("<|im_start|>user\n"));
  EXPECT_TRUE(s.input.ends_with("<|im_start|>assistant\n"));
  expect_sample_properties(s, task);
}

TEST(NiahGenerator, LengthTooSmallForTheTemplateIsAClearError) {
  const TaskSpec& task = find_task("niah_multiquery");
  try {
    make_generator().generate({&task, 200, 0, {}});
    FAIL() << "expected an error";
  } catch (const qk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("niah_multiquery: length 200"), std::string::npos) << e.what();
  }
}

TEST(NiahGenerator, LongContextsRepeatTheHaystackAndStayExact) {
  const SampleGenerator generator = make_generator();
  const TaskSpec& task = find_task("niah_single_2");
  // More words than the shipped text holds: the text repeats, as RULER's does.
  const Sample s = generator.generate({&task, 1024 * 1024, 0, 50.0});
  EXPECT_GT(s.num_haystack, shipped_essay().size());
  expect_sample_properties(s, task);
}

TEST(NiahTaskSet, OutputIsByteIdenticalWhateverTheThreadCount) {
  TaskSetPlan plan;
  plan.tasks = parse_task_list("niah_single_1,niah_multiquery,niah_multikey_3");
  plan.lengths = {1024, 2048};
  plan.samples = 3;
  const SampleGenerator generator = make_generator(21);
  const auto dir = scratch_dir("threads");
  write_task_set(generator, plan_requests(plan), dir / "one.jsonl", 1, false);
  write_task_set(generator, plan_requests(plan), dir / "four.jsonl", 4, false);
  const std::string one = qk::test::read_bytes(dir / "one.jsonl");
  EXPECT_EQ(one, qk::test::read_bytes(dir / "four.jsonl"));
  EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 3 * 2 * 3);
  EXPECT_FALSE(std::filesystem::exists(dir / "one.jsonl.tmp"));
}

TEST(NiahTaskSet, GridPlanCoversEveryLengthAndDepth) {
  TaskSetPlan plan;
  plan.tasks = parse_task_list("niah_single_2");
  plan.lengths = {1024, 2048, 4096};
  plan.samples = 1;
  plan.grid_depths = 11;
  const auto requests = plan_requests(plan);
  ASSERT_EQ(requests.size(), 33u);
  EXPECT_EQ(grid_depth_values(11), (std::vector<double>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
  EXPECT_EQ(*requests[10].grid_depth, 100.0);
  EXPECT_EQ(sample_id(requests[10]), "niah_single_2/1024/d100/0");
}
