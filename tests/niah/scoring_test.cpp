#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "niah/heatmap_svg.hpp"
#include "niah/scoring.hpp"
#include "niah_test_support.hpp"
#include "util/error.hpp"

using namespace qk::niah;
using namespace qk::niah::testing;

TEST(NiahScoring, StringMatchAllIsTheFractionOfReferencesFoundIgnoringCase) {
  EXPECT_DOUBLE_EQ(string_match_all("The numbers are 123 and 456.", {"123", "456", "789"}), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(string_match_all("UUID 0A1B-ff", {"0a1b-FF"}), 1.0);
  EXPECT_DOUBLE_EQ(string_match_all("nothing", {"1"}), 0.0);
  EXPECT_DOUBLE_EQ(string_match_all("1234567", {"123456"}), 1.0);  // substring match, as RULER's `in`
}

TEST(NiahScoring, PostprocessTurnsControlCharactersIntoNewlinesAndStrips) {
  EXPECT_EQ(postprocess_prediction("  \x01" "12\t34\x1f  "), "12\n34");
  EXPECT_EQ(postprocess_prediction("\n\n"), "");
}

TEST(NiahScoring, SummaryAveragesPerTaskAndLengthAndPoolsDepths) {
  std::vector<ScoredPrediction> predictions = {
      {"a/1", "niah_single_2", 1024, 10, true, 1.0}, {"a/2", "niah_single_2", 1024, 90, true, 0.0},
      {"b/1", "niah_multivalue", 1024, 10, true, 0.5}, {"c/1", "niah_single_2", 2048, 10, true, 1.0}};
  const Summary s = summarize(predictions);
  EXPECT_TRUE(s.grid);
  EXPECT_EQ(s.tasks, (std::vector<std::string>{"niah_single_2", "niah_multivalue"}));  // RULER's order
  EXPECT_EQ(s.lengths, (std::vector<int>{1024, 2048}));
  EXPECT_EQ(s.depths, (std::vector<double>{10, 90}));
  EXPECT_DOUBLE_EQ(s.by_task_length.at({"niah_single_2", 1024}).score(), 50.0);
  EXPECT_DOUBLE_EQ(s.average(1024), (50.0 + 50.0) / 2);
  EXPECT_DOUBLE_EQ(s.by_length_depth.at({1024, 10}).score(), 75.0);
}

TEST(NiahScoring, SummaryFilesRoundTripAndHeatmapsHaveACellPerLengthAndDepth) {
  std::vector<ScoredPrediction> predictions;
  for (int length : {1024, 2048, 4096})
    for (int depth : {0, 50, 100}) predictions.push_back({"x", "niah_single_1", length, double(depth), true, depth == 50 ? 0.0 : 1.0});
  const Summary s = summarize(predictions);
  const auto dir = scratch_dir("summary");
  write_summary_files(s, dir, "base <model>");
  const Summary back = read_summary_json(dir / "summary.json");
  EXPECT_EQ(back.lengths, s.lengths);
  EXPECT_EQ(back.depths, s.depths);
  EXPECT_DOUBLE_EQ(back.average(2048), s.average(2048));

  std::ifstream in(dir / "heatmap.svg");
  const std::string svg(std::istreambuf_iterator<char>(in), {});
  EXPECT_NE(svg.find("base &lt;model&gt;"), std::string::npos);  // escaped title
  const std::regex cell("<rect [^>]*><title>length");
  const auto cells = std::distance(std::sregex_iterator(svg.begin(), svg.end(), cell), std::sregex_iterator());
  EXPECT_EQ(cells, 9);
  EXPECT_NE(svg.find(score_color(0.0)), std::string::npos);
  EXPECT_NE(svg.find(score_color(100.0)), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "heatmap-niah_single_1.svg"));
  std::ifstream md(dir / "summary.md");
  const std::string text(std::istreambuf_iterator<char>(md), {});
  EXPECT_NE(text.find("| niah_single_1 | 66.67 [20.8, 93.9] | 66.67 [20.8, 93.9] | 66.67 [20.8, 93.9] |"), std::string::npos) << text;
}

TEST(NiahScoring, ColorsRunRedYellowGreen) {
  EXPECT_EQ(score_color(0), "#d73027");
  EXPECT_EQ(score_color(50), "#fee08b");
  EXPECT_EQ(score_color(100), "#1a9850");
  EXPECT_EQ(format_length(4096), "4K");
  EXPECT_EQ(format_length(1048576), "1M");
  EXPECT_EQ(format_length(1000), "1000");
}

TEST(NiahScoring, PredictionsWithoutPredFieldAreAFormatError) {
  const auto dir = scratch_dir("badpreds");
  std::ofstream(dir / "p.jsonl") << R"({"id":"x","outputs":["1"]})" << '\n';
  EXPECT_THROW(score_predictions_file(dir / "p.jsonl"), qk::Error);
}
