// locate's outputs: locate.json (every site, both views, per length, with the rankings), locate.md (the
// ranked tables) and locate.html (per view and length a class x layer heatmap: a row per class and
// refinement depth, each site a cell spanning its layers, coloured by the recall it wins back or breaks).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "locate/locate.hpp"

namespace qk::locate {

struct LocateReportInfo {
  std::string base, sft, niah_tasks, reasoning_tasks;  // as the user named them
  int num_layers = 0;
  const sweep::CandidateResult* sft_result = nullptr;   // the references, for the header
  const sweep::CandidateResult* base_result = nullptr;
};

nlohmann::ordered_json locate_json(const LocateResult& result, const LocateReportInfo& info);
std::string locate_markdown(const LocateResult& result, const LocateReportInfo& info);
std::string locate_html(const LocateResult& result, const LocateReportInfo& info);

// The search's pool from a locate.json: the forward view's units, best first, those that won recall back
// (a positive effect) only. Error(Format) naming the file when it is not one of locate's.
std::vector<std::string> read_forward_ranking(const std::filesystem::path& locate_json);

// Writes locate.json, locate.md and locate.html into dir (created).
void write_locate_outputs(const LocateResult& result, const LocateReportInfo& info, const std::filesystem::path& dir);

}  // namespace qk::locate
