// diagnose: its metrics against independent computations and known cases (a pure rotation, an
// unchanged model), the documented numbers on the committed qwen3_next pair, and its HTML report
// rendered by headless Chromium.
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "diagnose/diagnose.hpp"
#include "io/dtype.hpp"
#include "support/temp_dir.hpp"
#include "surgery/procrustes_solver.hpp"
#include "util/json.hpp"

namespace qk::diagnose {
namespace {

std::vector<float> decoded(const TensorRef& t) {
  std::vector<float> v(t.info->element_count());
  decode_to_f32(t.info->dtype, t.data(), v);
  return v;
}

// A float32 copy of `source` with some tensors replaced.
void write_f32_checkpoint(const Checkpoint& source, const std::filesystem::path& dir, const std::map<std::string, std::vector<float>>& replaced) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << source.config().dump(2);
  std::vector<TensorInfo> infos;
  std::string data;
  for (const auto& name : source.tensor_names()) {
    std::vector<float> values = replaced.count(name) ? replaced.at(name) : decoded(source.at(name));
    infos.push_back({name, DType::F32, source.at(name).info->shape, data.size(), data.size() + values.size() * 4});
    data.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  }
  const std::string header = serialize_safetensors_header(infos, {{"format", "pt"}});
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  const std::uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

std::filesystem::path pair_dir(const char* name) { return test::checkpoints_dir() / name; }

TEST(Diagnose, QueryDriftMatchesADirectComputation) {
  Checkpoint base(pair_dir("llama") / "base"), sft(pair_dir("llama") / "sft");
  const Report r = diagnose(base, sft, FamilyTable::builtin(), true);
  const int hd = sft.config()["hidden_size"].get<int>() / sft.config()["num_attention_heads"].get<int>();
  const auto b = decoded(base.at("model.layers.2.self_attn.q_proj.weight")), s = decoded(sft.at("model.layers.2.self_attn.q_proj.weight"));
  const std::size_t cols = base.at("model.layers.2.self_attn.q_proj.weight").info->shape[1];
  for (int head = 0; head < 4; ++head) {
    double diff = 0, norm = 0;
    for (std::size_t i = head * hd * cols; i < (head + 1) * hd * cols; ++i) {
      diff += (double(s[i]) - b[i]) * (double(s[i]) - b[i]);
      norm += double(b[i]) * b[i];
    }
    EXPECT_NEAR(r.layers[2].heads[head].q_drift, std::sqrt(diff / norm), 1e-9) << head;
  }
  EXPECT_EQ(r.layers.size(), 4u);
}

TEST(Diagnose, UnchangedModelHasNoDrift) {
  Checkpoint base(pair_dir("qwen3_next") / "base");
  const Report r = diagnose(base, base, FamilyTable::builtin(), true);
  for (const auto& l : r.layers) {
    EXPECT_EQ(l.drift, 0.0) << l.layer;
    for (const auto& h : l.heads) {
      EXPECT_EQ(h.q_drift, 0.0);
      EXPECT_LT(h.form_drift, 1e-7);
      EXPECT_LT(h.q_angle_max, 1e-3);
    }
  }
}

// SFT = O * base with a RoPE-commuting O per KV group: the routing did not move, all the drift is a
// rotation, and the row spaces are unchanged (O mixes rows within the head).
TEST(Diagnose, PureRotationIsRecognised) {
  Checkpoint reference(pair_dir("qwen3_next") / "base");
  test::TempDir tmp;
  const int hd = reference.config()["head_dim"], heads = 4, kv = 2, rotary = hd / 4;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  std::map<std::string, std::vector<float>> edited;
  for (int layer : {1, 3}) {
    std::vector<RowMatrix> rotations;
    for (int g = 0; g < kv; ++g) {
      RowMatrix m(hd, hd);
      for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
      AlignmentCross c(hd, rotary);
      c.add(m, RowMatrix(RowMatrix::Identity(hd, hd)));
      rotations.push_back(solve_rope_procrustes(c).dense());
    }
    const std::string q = fmt::format("model.layers.{}.self_attn.q_proj.weight", layer), k = fmt::format("model.layers.{}.self_attn.k_proj.weight", layer);
    auto qv = decoded(reference.at(q)), kv_values = decoded(reference.at(k));
    const int cols = reference.at(q).info->shape[1];
    for (int h = 0; h < heads; ++h) {  // gated: head h's query rows start at 2 h hd
      Eigen::Map<RowMatrix> rows(qv.data() + 2 * h * hd * cols, hd, cols);
      rows = (rotations[h / (heads / kv)] * rows).eval();
    }
    for (int g = 0; g < kv; ++g) {
      Eigen::Map<RowMatrix> rows(kv_values.data() + g * hd * cols, hd, cols);
      rows = (rotations[g] * rows).eval();
    }
    edited[q] = qv;
    edited[k] = kv_values;
  }
  write_f32_checkpoint(reference, tmp / "base", {});
  write_f32_checkpoint(reference, tmp / "sft", edited);
  Checkpoint base(tmp / "base"), sft(tmp / "sft");
  const Report r = diagnose(base, sft, FamilyTable::builtin(), true);
  int checked = 0;
  for (const auto& l : r.layers) {
    for (const auto& h : l.heads) {
      EXPECT_GT(h.q_drift, 0.1) << l.layer;
      EXPECT_LT(h.form_drift, 1e-6) << l.layer << " head " << h.head;
      EXPECT_GT(h.rotation_share, 1 - 1e-6) << l.layer << " head " << h.head;
      EXPECT_LT(h.q_angle_max, 0.01) << l.layer << " head " << h.head;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8);
}

// The numbers docs/diagnose.md shows for the committed qwen3_next pair (testdata/checkpoints/qwen3_next).
TEST(Diagnose, CommittedPairGivesTheDocumentedNumbers) {
  Checkpoint base(pair_dir("qwen3_next") / "base"), sft(pair_dir("qwen3_next") / "sft");
  const nlohmann::json got = to_json(diagnose(base, sft, FamilyTable::builtin(), true));
  const nlohmann::json want = read_json_file(test::source_dir() / "tests" / "diagnose" / "qwen3_next_expected.json");
  ASSERT_EQ(got["layers"].size(), want["layers"].size());
  for (std::size_t i = 0; i < want["layers"].size(); ++i) {
    const auto &g = got["layers"][i], &w = want["layers"][i];
    EXPECT_EQ(g["kind"], w["kind"]);
    EXPECT_NEAR(g["drift"].get<double>(), w["drift"].get<double>(), 1e-4) << "layer " << i;
    if (!w.contains("heads")) continue;
    for (std::size_t h = 0; h < w["heads"].size(); ++h)
      for (const char* key : {"q_drift", "k_drift", "form_drift", "rotation_share", "q_angle_mean_deg"})
        EXPECT_NEAR(g["heads"][h][key].get<double>(), w["heads"][h][key].get<double>(), 1e-4) << "layer " << i << " head " << h << " " << key;
    for (std::size_t b = 0; b < w["bands"].size(); ++b)
      EXPECT_NEAR(g["bands"][b]["drift"].get<double>(), w["bands"][b]["drift"].get<double>(), 1e-4) << "layer " << i << " band " << b;
  }
}

TEST(Diagnose, MlaLayersGetTensorDriftsAndANote) {
  Checkpoint base(pair_dir("kimi_linear") / "base"), sft(pair_dir("kimi_linear") / "sft");
  const Report r = diagnose(base, sft, FamilyTable::builtin(), true);
  for (const auto& l : r.layers) {
    EXPECT_FALSE(l.tensors.empty()) << l.layer;
    EXPECT_GT(l.drift, 0) << l.layer;
    if (l.kind == "global") {
      EXPECT_NE(l.note.find("MLA"), std::string::npos) << l.note;
    }
  }
}

TEST(Diagnose, HtmlReportRendersInHeadlessChromium) {
  ASSERT_EQ(std::system("command -v chromium >/dev/null 2>&1"), 0) << "chromium not installed: run scripts/install-deps.sh";
  Checkpoint base(pair_dir("qwen3_next") / "base"), sft(pair_dir("qwen3_next") / "sft");
  test::TempDir dir;
  const std::string html = to_html(diagnose(base, sft, FamilyTable::builtin(), true));
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no resource to fetch: only the SVG namespace
  EXPECT_EQ(html.find("<script"), std::string::npos);
  std::ofstream(dir / "report.html") << html;
  const std::string flags = " --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
                            " --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir=" +
                            (dir / "profile").string() + " --window-size=1200,1600 ";
  const std::string url = "file://" + (dir / "report.html").string();
  const std::string env = "HOME=" + dir.path().string() + " timeout 120 ";
  int status = std::system((env + "chromium" + flags + "--dump-dom " + url + " >" + (dir / "dom.html").string() + " 2>" +
                            (dir / "dom.err").string()).c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_bytes(dir / "dom.err");
  const std::string dom = test::read_bytes(dir / "dom.html");
  std::size_t svgs = 0, cells = 0;
  for (auto at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1)) ++svgs;
  for (auto at = dom.find("<rect"); at != std::string::npos; at = dom.find("<rect", at + 1)) ++cells;
  EXPECT_EQ(svgs, 7u);            // 5 heatmaps, the band plot, the layer bars
  EXPECT_GE(cells, 5u * 2 * 4);   // 5 heatmaps x 2 global layers x 4 heads
  EXPECT_NE(dom.find("layer 3 head 2"), std::string::npos);
  status = std::system((env + "chromium" + flags + "--screenshot=" + (dir / "shot.png").string() + " " + url + " >" +
                        (dir / "shot.err").string() + " 2>&1").c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_bytes(dir / "shot.err");
  const std::string png = test::read_bytes(dir / "shot.png");
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(png.size(), 20000u) << "a blank page compresses to a few KB; the heatmaps do not";
}

}  // namespace
}  // namespace qk::diagnose
