#include "niah/task_spec.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"

namespace qk::niah {

HaystackKind parse_haystack_kind(std::string_view name) {
  if (name == "noise" || name == "repeat") return HaystackKind::Noise;  // "repeat" is RULER's old name
  if (name == "essay") return HaystackKind::Essay;
  if (name == "needle") return HaystackKind::Needle;
  fail(ErrorKind::Usage, "unknown haystack '{}' (expected noise, essay or needle)", name);
}

std::string_view haystack_kind_name(HaystackKind kind) {
  switch (kind) {
    case HaystackKind::Noise: return "noise";
    case HaystackKind::Essay: return "essay";
    case HaystackKind::Needle: return "needle";
  }
  return "essay";
}

const std::vector<TaskSpec>& ruler_niah_tasks() {
  using enum HaystackKind;
  using enum ValueKind;
  static const std::vector<TaskSpec> tasks = {
      {"niah_single_1", Noise, Words, Numbers, 1, 1, 1},
      {"niah_single_2", Essay, Words, Numbers, 1, 1, 1},
      {"niah_single_3", Essay, Words, Uuids, 1, 1, 1},
      {"niah_multikey_1", Essay, Words, Numbers, 4, 1, 1},
      {"niah_multikey_2", Needle, Words, Numbers, 1, 1, 1},
      {"niah_multikey_3", Needle, Uuids, Uuids, 1, 1, 1},
      {"niah_multivalue", Essay, Words, Numbers, 1, 4, 1},
      {"niah_multiquery", Essay, Words, Numbers, 4, 1, 4},
  };
  return tasks;
}

const TaskSpec& find_task(std::string_view name) {
  std::vector<std::string_view> known;
  for (const auto& task : ruler_niah_tasks()) {
    if (task.name == name) return task;
    known.push_back(task.name);
  }
  fail(ErrorKind::Usage, "unknown NIAH task '{}' (known: {}, or all)", name, fmt::join(known, ", "));
}

std::vector<TaskSpec> parse_task_list(std::string_view comma_separated) {
  std::vector<TaskSpec> tasks;
  std::size_t start = 0;
  while (start <= comma_separated.size()) {
    std::size_t end = comma_separated.find(',', start);
    if (end == std::string_view::npos) end = comma_separated.size();
    std::string_view name = comma_separated.substr(start, end - start);
    if (name == "all") {
      tasks.insert(tasks.end(), ruler_niah_tasks().begin(), ruler_niah_tasks().end());
    } else if (!name.empty()) {
      tasks.push_back(find_task(name));
    }
    start = end + 1;
  }
  if (tasks.empty()) fail(ErrorKind::Usage, "no NIAH task given");
  return tasks;
}

}  // namespace qk::niah
