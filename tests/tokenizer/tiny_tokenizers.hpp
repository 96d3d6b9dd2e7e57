// Small hand-written tokenizer.json documents for unit tests, where every expected id can be worked
// out by hand from the vocab and merges written here.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace qk::test {

// Byte-level BPE over the alphabet {a, b, c, Ġ(space)}: merges rank "a b" < "b c" < "ab c" < "Ġ a".
inline nlohmann::json tiny_byte_level(bool merges_as_pairs) {
  nlohmann::json merges = nlohmann::json::array();
  for (auto [l, r] : {std::pair{"a", "b"}, {"b", "c"}, {"ab", "c"}, {"Ġ", "a"}}) {
    if (merges_as_pairs) merges.push_back({l, r});
    else merges.push_back(std::string(l) + " " + r);
  }
  return {
      {"version", "1.0"},
      {"added_tokens", nlohmann::json::array({{{"id", 9}, {"content", "<|eot|>"}, {"single_word", false},
                                               {"lstrip", false}, {"rstrip", false}, {"normalized", false},
                                               {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
        {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"Ġ", 3}, {"ab", 4}, {"bc", 5}, {"abc", 6}, {"Ġa", 7}, {"!", 8}}},
        {"merges", merges}}},
  };
}

// SentencePiece-style BPE (Llama-2 layout): <unk> <s> </s>, byte tokens for 'h' (0x68) and the two
// bytes of 'é' (0xC3 0xA9), and pieces ▁ h i ▁h hi ▁hi.
inline nlohmann::json tiny_sentencepiece() {
  return {
      {"version", "1.0"},
      {"added_tokens", nlohmann::json::array({
           {{"id", 0}, {"content", "<unk>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}},
           {{"id", 1}, {"content", "<s>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}},
           {{"id", 2}, {"content", "</s>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}},
       })},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", nlohmann::json::array({
                          {{"type", "Prepend"}, {"prepend", "▁"}},
                          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}},
                      })}}},
      {"pre_tokenizer", nullptr},
      {"post_processor", {{"type", "TemplateProcessing"},
                          {"single", nlohmann::json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                            {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                          {"pair", nlohmann::json::array()},
                          {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "Sequence"}, {"decoders", nlohmann::json::array({
                       {{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
                       {{"type", "ByteFallback"}},
                       {{"type", "Fuse"}},
                       {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}},
                   })}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false},
        {"vocab", {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}, {"<0x68>", 3}, {"<0xC3>", 4}, {"<0xA9>", 5},
                   {"▁", 6}, {"h", 7}, {"i", 8}, {"▁h", 9}, {"hi", 10}, {"▁hi", 11}}},
        {"merges", nlohmann::json::array({"h i", "▁ h", "▁h i"})}}},
  };
}

}  // namespace qk::test
