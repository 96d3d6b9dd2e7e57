// `qkrestore report` must render in a real browser with both axes: the recall-vs-reasoning scatter,
// the reasoning table and the NIAH heatmaps.
#include <fstream>

#include <gtest/gtest.h>

#include "eval/report.hpp"
#include "support/chromium.hpp"
#include "support/temp_dir.hpp"

namespace {

qk::niah::Summary recall(double score) {
  std::vector<qk::niah::ScoredPrediction> predictions;
  int id = 0;
  for (int length : {1024, 2048, 4096})
    for (int depth = 0; depth <= 100; depth += 10)
      predictions.push_back({std::to_string(id++), "niah_single_2", length, double(depth), true,
                             (id * 37 % 100) < score ? 1.0 : 0.0});
  return qk::niah::summarize(predictions);
}

qk::eval::ReasoningSummary reasoning(const std::string& title, std::size_t correct, std::size_t total) {
  qk::eval::ReasoningSummary s;
  s.title = title;
  s.total = total;
  s.correct = correct;
  s.accuracy = 100.0 * correct / total;
  s.ci95 = qk::wilson_interval(double(correct), total);
  for (std::size_t i = 0; i < total; ++i) s.per_problem[std::to_string(i)] = i < correct ? 1 : 0;
  return s;
}

TEST(Report, BothAxesRenderInHeadlessChromium) {
  const std::string chromium = qk::test::find_chromium();
  ASSERT_FALSE(chromium.empty()) << "chromium not installed: run scripts/install-deps.sh";
  qk::test::TempDir dir;
  std::vector<qk::eval::ReportRun> runs{{"base", recall(98), reasoning("base", 20, 200)},
                                        {"sft", recall(30), reasoning("sft", 120, 200)},
                                        {"restored", recall(85), reasoning("restored", 100, 200)},
                                        {"recall only", recall(50), std::nullopt}};
  std::ofstream(dir / "report.html") << qk::eval::render_report(runs, "base vs sft vs restored", "sft");
  ASSERT_TRUE(qk::test::run_chromium(chromium, dir.path(), dir / "report.html", "--dump-dom", dir / "dom.html"))
      << qk::test::read_bytes(dir / "dom.html.err");
  const std::string dom = qk::test::read_bytes(dir / "dom.html");
  std::size_t points = 0, svgs = 0;
  for (auto at = dom.find("<g class=\"run\">"); at != std::string::npos; at = dom.find("<g class=\"run\">", at + 1)) ++points;
  for (auto at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1)) ++svgs;
  EXPECT_EQ(points, 3u);  // the run without reasoning has no point
  EXPECT_EQ(svgs, 5u);    // the scatter and four heatmaps
  EXPECT_NE(dom.find("<h2>Reasoning</h2>"), std::string::npos);
  EXPECT_NE(dom.find("base better"), std::string::npos) << "base's recall is significantly above sft's";
  EXPECT_NE(dom.find("sft better"), std::string::npos) << "sft's reasoning is significantly above base's";
  EXPECT_NE(dom.find("stroke-dasharray"), std::string::npos) << "the frontier line";
  ASSERT_TRUE(qk::test::run_chromium(chromium, dir.path(), dir / "report.html", "--screenshot=" + (dir / "shot.png").string(),
                                     dir / "shot.out", 1280, 1000));
  EXPECT_GT(qk::test::read_bytes(dir / "shot.png").size(), 20000u);
  if (const char* keep = std::getenv("QK_KEEP_REPORT_SHOT")) std::filesystem::copy_file(dir / "shot.png", keep,
                                                                                         std::filesystem::copy_options::overwrite_existing);
}

}  // namespace
