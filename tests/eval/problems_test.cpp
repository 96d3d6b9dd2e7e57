// Problem files: GSM8K and MATH as published, plain JSONL with named fields, and every malformed input
// an error naming the file and line.
#include <fstream>

#include <gtest/gtest.h>

#include "eval/problems.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

namespace {

using qk::eval::ProblemFormat;

const std::filesystem::path kData = std::filesystem::path(QK_SOURCE_DIR) / "testdata/eval";

std::filesystem::path write(const qk::test::TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.path() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string error_of(const std::filesystem::path& path, qk::eval::ProblemFileOptions options = {}) {
  try {
    qk::eval::read_problems(path, options);
  } catch (const qk::Error& e) {
    EXPECT_EQ(e.kind() == qk::ErrorKind::Format || e.kind() == qk::ErrorKind::Io, true) << e.what();
    return e.what();
  }
  return "no error";
}

TEST(Problems, Gsm8kAnswersAfterHashes) {
  const auto problems = qk::eval::read_problems(kData / "gsm8k_small.jsonl");
  ASSERT_EQ(problems.size(), 8u);
  EXPECT_EQ(problems[0].gold, "72");
  EXPECT_EQ(problems[0].id, "1");
  EXPECT_EQ(problems[2].gold, "3,750");
  EXPECT_EQ(problems[3].gold, "-3");
  EXPECT_NE(problems[0].solution.find("<<48/2=24>>"), std::string::npos);  // kept whole for k-shot
}

TEST(Problems, MathAnswerFieldOrLastBoxedOfSolution) {
  const auto problems = qk::eval::read_problems(kData / "math_small.jsonl");
  ASSERT_EQ(problems.size(), 6u);
  EXPECT_EQ(problems[0].gold, "\\frac{5}{6}");
  EXPECT_EQ(problems[0].id, "test/prealgebra/1.json");
  EXPECT_EQ(problems[1].gold, "4");          // from \boxed{4} of the solution
  EXPECT_EQ(problems[3].gold, "(1,2)");
  EXPECT_EQ(problems[5].gold, "\\dfrac{3}{4}");
}

TEST(Problems, PlainJsonlWithNamedFields) {
  qk::test::TempDir dir;
  const auto path = write(dir, "own.jsonl", "{\"q\": \"1+1?\", \"a\": 2, \"id\": 7}\n\n{\"q\": \"2+2?\", \"a\": \"4\"}\n");
  const auto problems = qk::eval::read_problems(path, {ProblemFormat::Jsonl, "q", "a"});
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].gold, "2");
  EXPECT_EQ(problems[0].id, "7");
  EXPECT_EQ(problems[1].id, "3");  // its line number
}

TEST(Problems, MalformedInputNamesFileAndLine) {
  qk::test::TempDir dir;
  const auto broken = write(dir, "broken.jsonl", "{\"question\": \"a\", \"answer\": \"#### 1\"}\n{\"question\": \n");
  EXPECT_NE(error_of(broken).find("broken.jsonl:2"), std::string::npos);
  const auto no_hashes = write(dir, "nohash.jsonl", "{\"question\": \"a\", \"answer\": \"1\"}\n");
  EXPECT_NE(error_of(no_hashes, {ProblemFormat::Gsm8k}).find("nohash.jsonl:1: a GSM8K \"answer\""), std::string::npos);
  const auto wrong_field = write(dir, "fields.jsonl", "{\"prompt\": \"a\", \"target\": \"1\"}\n");
  EXPECT_NE(error_of(wrong_field, {ProblemFormat::Jsonl, "question", "target"}).find("fields.jsonl:1: no \"question\" field"),
            std::string::npos);
  const auto wrong_type = write(dir, "type.jsonl", "{\"question\": [1], \"answer\": \"#### 1\"}\n");
  EXPECT_NE(error_of(wrong_type).find("\"question\" must be a string"), std::string::npos);
  const auto empty = write(dir, "empty.jsonl", "\n  \n");
  EXPECT_NE(error_of(empty).find("no problems"), std::string::npos);
  const auto twice = write(dir, "twice.jsonl", "{\"id\": \"a\", \"question\": \"x\", \"answer\": \"#### 1\"}\n"
                                                "{\"id\": \"a\", \"question\": \"y\", \"answer\": \"#### 2\"}\n");
  EXPECT_NE(error_of(twice).find("twice.jsonl:2: id \"a\" appears twice"), std::string::npos);
  const auto not_object = write(dir, "array.jsonl", "[1, 2]\n");
  EXPECT_NE(error_of(not_object).find("array.jsonl:1"), std::string::npos);
  const auto no_box = write(dir, "nobox.jsonl", "{\"problem\": \"p\", \"solution\": \"no box\"}\n");
  EXPECT_NE(error_of(no_box).find("\\boxed{}"), std::string::npos);
  EXPECT_NE(error_of(dir.path() / "missing.jsonl").find("missing.jsonl"), std::string::npos);
}

}  // namespace
