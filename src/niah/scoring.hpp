// RULER's NIAH metric (scripts/eval/evaluate.py and scripts/eval/synthetic/constants.py): clean the
// prediction (strip; control characters -> newline; strip), then string_match_all: the fraction of the
// expected values found in it case-insensitively; a task's score is the mean x 100.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "util/statistics.hpp"

namespace qk::niah {

std::string postprocess_prediction(std::string_view prediction);
double string_match_all(std::string_view prediction, const std::vector<std::string>& references);  // in [0, 1]

// One scored prediction, as read from a predictions JSONL.
struct ScoredPrediction {
  std::string id, task;
  int max_seq_length = 0;
  double depth_percent = 0;
  bool grid = false;  // depth_percent is a grid cell's depth
  double score = 0;   // string_match_all in [0, 1]
};

struct Cell {
  std::size_t samples = 0;
  double sum = 0;
  double score() const { return samples ? 100.0 * sum / static_cast<double>(samples) : 0.0; }  // RULER's x 100
  Interval interval() const { return wilson_interval(sum, samples); }  // 95%, in [0, 1]
};

struct Summary {
  std::vector<std::string> tasks;  // in RULER's task order, then others by name
  std::vector<int> lengths;        // ascending
  std::vector<double> depths;      // heatmap rows, ascending: grid depths, or deciles of random depths
  bool grid = false;
  std::map<std::pair<std::string, int>, Cell> by_task_length;
  std::map<std::tuple<std::string, int, double>, Cell> by_task_length_depth;
  std::map<std::pair<int, double>, Cell> by_length_depth;  // all tasks pooled
  std::map<int, Cell> by_length;                           // all tasks pooled
  Cell overall;                                            // every sample
  std::map<std::string, double> per_sample;                // id -> score in [0, 1], for paired tests
  std::map<std::string, int> sample_length;                // id -> its length
  std::size_t predictions = 0;
  double average(int length) const;  // mean over tasks of their scores at this length (RULER's "Avg")
};

std::vector<ScoredPrediction> score_predictions_file(const std::filesystem::path& predictions_jsonl);
Summary summarize(const std::vector<ScoredPrediction>& predictions);

// The samples of one length (every length when 0), for a paired test between two runs.
std::map<std::string, double> samples_at_length(const Summary& summary, int length);

// summary.json holds everything the report needs; csv and md are for people and spreadsheets. Every
// score comes with its Wilson 95% interval (multi-value tasks: the mean partial score read as a proportion).
void write_summary_files(const Summary& summary, const std::filesystem::path& out_dir, const std::string& title);
Summary read_summary_json(const std::filesystem::path& summary_json);
Summary summary_from_json(const nlohmann::json& summary, const std::string& where);  // where: the file

}  // namespace qk::niah
