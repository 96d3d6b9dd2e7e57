// The HTML report must render in a real browser: headless Chromium loads it, we read back the DOM it
// built and a screenshot. Chromium is a test dependency (scripts/install-deps.sh installs it).
#include <gtest/gtest.h>

#include <fstream>

#include "niah/report_html.hpp"
#include "niah_test_support.hpp"
#include "support/chromium.hpp"
#include "support/temp_dir.hpp"

using namespace qk::niah;
using namespace qk::niah::testing;

namespace {

Summary fake_run(double penalty) {  // scores fall with length and depth, by `penalty`
  std::vector<ScoredPrediction> predictions;
  for (const char* task : {"niah_single_1", "niah_multikey_1"})
    for (int length : {4096, 8192, 16384, 32768})
      for (int depth = 0; depth <= 100; depth += 25) {
        const double score = std::max(0.0, 1.0 - penalty * (length / 32768.0) * (depth / 100.0 + 0.2));
        predictions.push_back({"id", task, length, double(depth), true, score});
      }
  return summarize(predictions);
}

}  // namespace

TEST(NiahReport, RendersInHeadlessChromium) {
  const std::string chromium = qk::test::find_chromium();
  ASSERT_FALSE(chromium.empty()) << "chromium not installed: run scripts/install-deps.sh";
  const auto dir = scratch_dir("chromium");
  const std::string html = render_report_html({{"base", fake_run(0.0)}, {"sft", fake_run(1.0)}, {"restore", fake_run(0.3)}},
                                              "NIAH recall: base vs sft vs restore");
  std::ofstream(dir / "report.html") << html;

  ASSERT_TRUE(qk::test::run_chromium(chromium, dir, dir / "report.html", "--dump-dom", dir / "dom.html"))
      << qk::test::read_bytes(dir / "dom.html.err");
  const std::string dom = qk::test::read_bytes(dir / "dom.html");
  // The DOM Chromium built: three heatmaps, the table with a column per run.
  std::size_t svgs = 0;
  for (auto at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1)) ++svgs;
  EXPECT_EQ(svgs, 3u);
  EXPECT_NE(dom.find("<th>restore</th>"), std::string::npos);
  EXPECT_NE(dom.find("niah_multikey_1"), std::string::npos);

  ASSERT_TRUE(qk::test::run_chromium(chromium, dir, dir / "report.html", "--screenshot=" + (dir / "shot.png").string(),
                                     dir / "shot.out"))
      << qk::test::read_bytes(dir / "shot.out.err");
  const std::string png = qk::test::read_bytes(dir / "shot.png");
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](std::size_t at) {
    return (std::uint32_t(std::uint8_t(png[at])) << 24) | (std::uint32_t(std::uint8_t(png[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(png[at + 2])) << 8) | std::uint32_t(std::uint8_t(png[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);  // IHDR width
  EXPECT_EQ(be32(20), 1400u);  // IHDR height
  EXPECT_GT(png.size(), 20000u) << "a blank page compresses to a few KB; the coloured heatmaps do not";
}
