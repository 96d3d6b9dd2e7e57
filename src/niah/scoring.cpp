#include "niah/scoring.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "niah/heatmap_svg.hpp"
#include "niah/task_spec.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json.hpp"

namespace qk::niah {

std::string postprocess_prediction(std::string_view prediction) {
  auto strip = [](std::string_view s) {
    // Python's str.strip() without arguments strips whitespace; ASCII whitespace suffices here.
    const char* spaces = " \t\n\r\f\v";
    std::size_t begin = s.find_first_not_of(spaces);
    if (begin == std::string_view::npos) return std::string_view();
    return s.substr(begin, s.find_last_not_of(spaces) - begin + 1);
  };
  std::string text(strip(prediction));
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20) c = '\n';  // RULER: re.sub(r'[\x00-\x1f]', '\n', ...)
  return std::string(strip(text));
}

static std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

double string_match_all(std::string_view prediction, const std::vector<std::string>& references) {
  if (references.empty()) return 0.0;
  const std::string haystack = lower_ascii(prediction);
  std::size_t found = 0;
  for (const auto& reference : references) found += haystack.find(lower_ascii(reference)) != std::string::npos;
  return static_cast<double>(found) / static_cast<double>(references.size());
}

std::vector<ScoredPrediction> score_predictions_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open predictions {}", path.string());
  std::vector<ScoredPrediction> out;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path.string(), number);
    const nlohmann::json j = parse_json(line, where);
    if (!j.is_object() || !j.contains("pred") || !j["pred"].is_string() || !j.contains("outputs") || !j["outputs"].is_array())
      fail(ErrorKind::Format, "{}: a prediction needs a string \"pred\" and an array \"outputs\"", where);
    ScoredPrediction p;
    p.task = optional_string_field(j, "task", where).value_or("niah");
    p.max_seq_length = field_or<int>(j, "max_seq_length", where, field_or<int>(j, "length", where, 0));
    const auto index = field_or<std::int64_t>(j, "index", where, static_cast<std::int64_t>(number));
    p.id = optional_string_field(j, "id", where).value_or(fmt::format("{}/{}/{}", p.task, p.max_seq_length, index));
    if (j.contains("grid_depth") && j["grid_depth"].is_number()) {
      p.grid = true;
      p.depth_percent = j["grid_depth"].get<double>();
    } else if (j.contains("depth_percent") && j["depth_percent"].is_number()) {
      p.depth_percent = j["depth_percent"].get<double>();
    }
    p.score = string_match_all(postprocess_prediction(j["pred"].get<std::string>()), field<std::vector<std::string>>(j, "outputs", where));
    out.push_back(std::move(p));
  }
  return out;
}

double Summary::average(int length) const {
  double sum = 0;
  int count = 0;
  for (const auto& task : tasks) {
    auto it = by_task_length.find({task, length});
    if (it != by_task_length.end()) sum += it->second.score(), ++count;
  }
  return count ? sum / count : 0.0;
}

static std::vector<std::string> ordered_tasks(const std::set<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& task : ruler_niah_tasks())
    if (names.count(task.name)) out.push_back(task.name);
  for (const auto& name : names)
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  return out;
}

Summary summarize(const std::vector<ScoredPrediction>& predictions) {
  Summary s;
  s.predictions = predictions.size();
  s.grid = !predictions.empty() && std::all_of(predictions.begin(), predictions.end(), [](auto& p) { return p.grid; });
  std::set<std::string> names;
  std::set<int> lengths;
  std::set<double> depths;
  for (const auto& p : predictions) {
    // Random depths are pooled into deciles (0, 10, ..., 100) so a heatmap has a row per decile.
    const double depth = s.grid ? p.depth_percent : std::round(p.depth_percent / 10.0) * 10.0;
    names.insert(p.task);
    lengths.insert(p.max_seq_length);
    depths.insert(depth);
    s.per_sample[p.id] = p.score;
    s.sample_length[p.id] = p.max_seq_length;
    for (Cell* cell : {&s.by_task_length[{p.task, p.max_seq_length}],
                       &s.by_task_length_depth[{p.task, p.max_seq_length, depth}],
                       &s.by_length_depth[{p.max_seq_length, depth}], &s.by_length[p.max_seq_length], &s.overall}) {
      cell->samples += 1;
      cell->sum += p.score;
    }
  }
  s.tasks = ordered_tasks(names);
  s.lengths.assign(lengths.begin(), lengths.end());
  s.depths.assign(depths.begin(), depths.end());
  return s;
}

static std::string round2(double value) { return fmt::format("{:.2f}", value); }

std::map<std::string, double> samples_at_length(const Summary& summary, int length) {
  if (length == 0) return summary.per_sample;
  std::map<std::string, double> out;
  for (const auto& [id, score] : summary.per_sample)
    if (auto it = summary.sample_length.find(id); it != summary.sample_length.end() && it->second == length)
      out.emplace(id, score);
  return out;
}

static std::string interval_text(const Cell& cell) {
  const Interval i = cell.interval();
  return fmt::format("[{:.1f}, {:.1f}]", 100 * i.low, 100 * i.high);
}

void write_summary_files(const Summary& s, const std::filesystem::path& out_dir, const std::string& title) {
  make_directories(out_dir);
  auto open = [&](const char* name) {
    std::ofstream out(out_dir / name, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorKind::Io, "cannot write {}", (out_dir / name).string());
    return out;
  };
  {  // CSV: one row per task and length, plus the per-length average over tasks.
    auto csv = open("summary.csv");
    csv << "task,length,samples,score,ci95_low,ci95_high\n";
    auto row = [&](const std::string& name, int length, const Cell& cell, double score) {
      const Interval i = cell.interval();
      csv << name << ',' << length << ',' << cell.samples << ',' << round2(score) << ',' << round2(100 * i.low) << ','
          << round2(100 * i.high) << '\n';
    };
    for (const auto& task : s.tasks)
      for (int length : s.lengths)
        if (auto it = s.by_task_length.find({task, length}); it != s.by_task_length.end())
          row(task, length, it->second, it->second.score());
    for (int length : s.lengths) row("average", length, s.by_length.at(length), s.average(length));
  }
  {  // Markdown: tasks x lengths, as RULER's tables read.
    auto md = open("summary.md");
    md << "# " << title << "\n\n| task |";
    for (int length : s.lengths) md << ' ' << length << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < s.lengths.size(); ++i) md << "---:|";
    md << '\n';
    for (const auto& task : s.tasks) {
      md << "| " << task << " |";
      for (int length : s.lengths) {
        auto it = s.by_task_length.find({task, length});
        md << ' '
           << (it == s.by_task_length.end() ? std::string("")
                                            : round2(it->second.score()) + " " + interval_text(it->second))
           << " |";
      }
      md << '\n';
    }
    md << "| **average** |";
    for (int length : s.lengths) md << " **" << round2(s.average(length)) << "** " << interval_text(s.by_length.at(length)) << " |";
    md << "\n\nScore: RULER string_match_all (percent of expected values found), " << s.predictions
       << " predictions; [Wilson 95% interval] over the cell's samples.\n";
  }
  {
    nlohmann::ordered_json j;
    j["title"] = title;
    j["metric"] = "string_match_all";
    j["predictions"] = s.predictions;
    j["grid"] = s.grid;
    j["tasks"] = s.tasks;
    j["lengths"] = s.lengths;
    j["depths"] = s.depths;
    auto ci95 = [](const Cell& cell) {
      const Interval i = cell.interval();
      return nlohmann::ordered_json::array({std::round(10000 * i.low) / 100, std::round(10000 * i.high) / 100});
    };
    j["overall"] = {{"score", s.overall.score()}, {"samples", s.overall.samples}, {"ci95", ci95(s.overall)}};
    auto& rows = j["by_task_length"] = nlohmann::ordered_json::array();
    for (const auto& [key, cell] : s.by_task_length)
      rows.push_back({{"task", key.first}, {"length", key.second}, {"samples", cell.samples}, {"sum", cell.sum},
                      {"score", cell.score()}, {"ci95", ci95(cell)}});
    auto& cells = j["by_task_length_depth"] = nlohmann::ordered_json::array();
    for (const auto& [key, cell] : s.by_task_length_depth)
      cells.push_back({{"task", std::get<0>(key)}, {"length", std::get<1>(key)}, {"depth", std::get<2>(key)},
                       {"samples", cell.samples}, {"sum", cell.sum}});
    auto& averages = j["average"] = nlohmann::ordered_json::object();
    for (int length : s.lengths) averages[std::to_string(length)] = std::round(s.average(length) * 100) / 100;
    auto& samples = j["per_sample"] = nlohmann::ordered_json::array();
    for (const auto& [id, score] : s.per_sample)
      samples.push_back({{"id", id}, {"length", s.sample_length.at(id)}, {"score", score}});
    auto out = open("summary.json");
    out << j.dump(2) << '\n';
  }
  {
    auto svg = open("heatmap.svg");
    svg << render_heatmap_svg(s, "", title + ": all tasks");
    for (const auto& task : s.tasks) {
      std::ofstream task_svg(out_dir / ("heatmap-" + task + ".svg"), std::ios::binary | std::ios::trunc);
      task_svg << render_heatmap_svg(s, task, title + ": " + task);
    }
  }
}

Summary read_summary_json(const std::filesystem::path& path) { return summary_from_json(read_json_file(path), path.string()); }

Summary summary_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::Format, "{} is not a qkrestore NIAH summary.json (not an object)", where);
  Summary s;
  s.predictions = field<std::size_t>(j, "predictions", where);
  s.grid = field<bool>(j, "grid", where);
  s.tasks = field<std::vector<std::string>>(j, "tasks", where);
  s.lengths = field<std::vector<int>>(j, "lengths", where);
  s.depths = field<std::vector<double>>(j, "depths", where);
  const nlohmann::json& rows = array_field(j, "by_task_length", where);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string row_where = fmt::format("{}: by_task_length[{}]", where, i);
    Cell& cell = s.by_task_length[{field<std::string>(rows[i], "task", row_where), field<int>(rows[i], "length", row_where)}];
    cell.samples = field<std::size_t>(rows[i], "samples", row_where);
    cell.sum = field<double>(rows[i], "sum", row_where);
  }
  const nlohmann::json& cells = array_field(j, "by_task_length_depth", where);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string cell_where = fmt::format("{}: by_task_length_depth[{}]", where, i);
    const int length = field<int>(cells[i], "length", cell_where);
    const double depth = field<double>(cells[i], "depth", cell_where);
    Cell& cell = s.by_task_length_depth[{field<std::string>(cells[i], "task", cell_where), length, depth}];
    cell.samples = field<std::size_t>(cells[i], "samples", cell_where);
    cell.sum = field<double>(cells[i], "sum", cell_where);
    for (Cell* pooled : {&s.by_length_depth[{length, depth}], &s.by_length[length], &s.overall}) {
      pooled->samples += cell.samples;
      pooled->sum += cell.sum;
    }
  }
  if (j.contains("per_sample")) {  // summaries written before paired tests lack it
    const nlohmann::json& samples = array_field(j, "per_sample", where);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const std::string sample_where = fmt::format("{}: per_sample[{}]", where, i);
      const std::string id = field<std::string>(samples[i], "id", sample_where);
      s.per_sample[id] = field<double>(samples[i], "score", sample_where);
      s.sample_length[id] = field<int>(samples[i], "length", sample_where);
    }
  }
  return s;
}

}  // namespace qk::niah
