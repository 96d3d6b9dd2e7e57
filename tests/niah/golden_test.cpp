// Generator goldens: committed JSONL for fixed seeds, compared byte for byte. A change in the
// generator, the shipped data or the tokenizer shows up here. To accept an intended change, rerun with
// QK_UPDATE_GOLDEN=1 and review the diff of tests/niah/golden/.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "niah/task_set.hpp"
#include "niah_test_support.hpp"
#include "support/temp_dir.hpp"

using namespace qk::niah;
using namespace qk::niah::testing;

namespace {

void check_golden(const std::string& name, const TaskSetPlan& plan, const GeneratorOptions& options) {
  const SampleGenerator generator(test_counter(), shipped_words(), &shipped_essay(), options);
  const auto out = scratch_dir("golden") / name;
  write_task_set(generator, plan_requests(plan), out, 2, false);
  const auto golden = source_dir() / "tests" / "niah" / "golden" / name;
  if (std::getenv("QK_UPDATE_GOLDEN")) std::filesystem::copy_file(out, golden, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(std::filesystem::exists(golden)) << golden << " missing: run with QK_UPDATE_GOLDEN=1";
  const std::string expected = qk::test::read_bytes(golden), actual = qk::test::read_bytes(out);
  if (expected != actual) {
    std::size_t at = 0;
    while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) ++at;
    FAIL() << name << " differs from the golden at byte " << at << ": expected ..."
           << expected.substr(at > 40 ? at - 40 : 0, 120) << "... got ..." << actual.substr(at > 40 ? at - 40 : 0, 120);
  }
}

}  // namespace

TEST(NiahGolden, RulerLayoutAllTasksSeed7) {
  TaskSetPlan plan;
  plan.tasks = parse_task_list("all");
  plan.lengths = {600, 1024};
  plan.samples = 2;
  GeneratorOptions options;
  options.seed = 7;
  check_golden("ruler_all_seed7.jsonl", plan, options);
}

TEST(NiahGolden, GridLayoutChatmlSeed3) {
  TaskSetPlan plan;
  plan.tasks = parse_task_list("niah_single_2,niah_multikey_2");
  plan.lengths = {512, 768};
  plan.samples = 1;
  plan.grid_depths = 3;
  GeneratorOptions options;
  options.seed = 3;
  options.model_template = qk::backend::builtin_model_template("chatml");
  check_golden("grid_chatml_seed3.jsonl", plan, options);
}
