// A small NIAH task file for end-to-end runs of the runner: sample i asks for the magic number
// <number_prefix><i> that its own prompt states, so any working model setup can be checked against it.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>

#include "niah/sample_jsonl.hpp"

namespace qk::test {

enum class PromptStyle { Plain, ChatML };

inline void write_magic_number_tasks(const std::filesystem::path& file, int count, const std::string& number_prefix,
                                     PromptStyle style, const std::string& answer_prefix, int max_seq_length) {
  std::ofstream tasks(file);
  for (int i = 0; i < count; ++i) {
    const std::string number = number_prefix + std::to_string(i);
    const std::string question = "The special magic number is " + number + ". What is it?";
    niah::Sample s;
    s.index = i;
    s.input = style == PromptStyle::ChatML ? "<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n" : question;
    s.answer_prefix = answer_prefix;
    s.outputs = {number};
    s.id = "niah_single_1/" + std::to_string(max_seq_length) + "/" + std::to_string(i);
    s.task = "niah_single_1";
    s.max_seq_length = max_seq_length;
    tasks << niah::sample_to_json(s).dump() << "\n";
  }
}

}  // namespace qk::test
