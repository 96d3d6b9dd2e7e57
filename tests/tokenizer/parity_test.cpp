// Parity with the `tokenizers` library: testdata/tokenizer/reference.jsonl holds, for every tokenizer
// in testdata/tokenizer/*.json and every line of hard_text.jsonl, the ids, ids with special tokens and
// decoded strings that tokenizers 0.23 produced (tools/refgen/tokenizers/make_reference.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <unistd.h>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace {

using Ids = std::vector<std::int32_t>;
const std::string kDir = std::string(QK_SOURCE_DIR) + "/testdata/tokenizer/";

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

const std::map<int, std::string>& hard_texts() {
  static const std::map<int, std::string> texts = [] {
    std::map<int, std::string> m;
    for (const auto& row : read_jsonl(kDir + "hard_text.jsonl")) m[row["id"].get<int>()] = row["text"].get<std::string>();
    return m;
  }();
  return texts;
}

const std::vector<nlohmann::json>& references() {
  static const std::vector<nlohmann::json> rows = read_jsonl(kDir + "reference.jsonl");
  return rows;
}

std::string show(const Ids& ids) {
  std::ostringstream out;
  for (std::size_t i = 0; i < ids.size(); ++i) out << (i ? "," : "") << ids[i];
  return out.str();
}

void check_parity(const std::string& name) {
  auto tokenizer = qk::Tokenizer::from_file(kDir + name + ".json");
  std::size_t checked = 0;
  for (const auto& row : references()) {
    if (row["tokenizer"] != name) continue;
    int id = row["id"].get<int>();
    const std::string& text = hard_texts().at(id);
    Ids want = row["ids"].get<Ids>(), want_special = row["ids_special"].get<Ids>();
    Ids got = tokenizer.encode(text), got_special = tokenizer.encode(text, true);
    EXPECT_EQ(show(got), show(want)) << name << " line " << id << " ids; text: " << text
                                     << "\nreference tokens: " << row["tokens"].dump();
    EXPECT_EQ(show(got_special), show(want_special)) << name << " line " << id << " ids with special tokens";
    EXPECT_EQ(tokenizer.decode(want), row["decoded"].get<std::string>()) << name << " line " << id << " decode";
    EXPECT_EQ(tokenizer.decode(want_special, true), row["decoded_special_skip"].get<std::string>())
        << name << " line " << id << " decode skipping special tokens";
    ++checked;
  }
  // Every hard-text line must have a reference row, so a truncated reference file cannot pass.
  EXPECT_EQ(checked, hard_texts().size()) << name;
  auto meta = nlohmann::json::parse(std::ifstream(kDir + "meta.json"));
  const auto& facts = meta["tokenizers"][name];
  EXPECT_EQ(tokenizer.vocab_size(), facts["vocab_size_with_added"].get<std::size_t>()) << name;
  // The whole training text as one input (for Llama-2/Gemma style: one 17 KB word for the model).
  std::ifstream in(kDir + "training_corpus.txt", std::ios::binary);
  std::string corpus((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Ids ids = tokenizer.encode(corpus);
  EXPECT_EQ(ids.size(), facts["corpus_token_count"].get<std::size_t>()) << name;
  Ids head = facts["corpus_ids"].get<Ids>();
  ASSERT_GE(ids.size(), head.size()) << name;
  EXPECT_EQ(show(Ids(ids.begin(), ids.begin() + static_cast<long>(head.size()))), show(head)) << name;
}

TEST(Parity, Gpt2ByteLevelWithStringMerges) { check_parity("gpt2"); }
TEST(Parity, RobertaPrefixSpaceAndLstripMask) { check_parity("roberta"); }
TEST(Parity, Qwen2SplitRegexNfc) { check_parity("qwen2"); }
TEST(Parity, Llama3IgnoreMergesAndBos) { check_parity("llama3"); }
TEST(Parity, Llama2PrependReplaceByteFallback) { check_parity("llama2"); }
TEST(Parity, MistralMetaspaceFirst) { check_parity("mistral"); }
TEST(Parity, GemmaReplaceOnly) { check_parity("gemma"); }
TEST(Parity, SentencePieceUnkNfkcLowercaseDigits) { check_parity("sp_unk"); }
TEST(Parity, ProjectTokenizerFromRepro) { check_parity("repro_qwen"); }

TEST(RoundTrip, ByteLevelWithoutNormalizerDecodesToTheInput) {
  for (const char* name : {"gpt2", "llama3", "repro_qwen"}) {
    auto tokenizer = qk::Tokenizer::from_file(kDir + name + ".json");
    for (const auto& [id, text] : hard_texts()) EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text) << name << " line " << id;
  }
}

// A long text made of one text repeated encodes to that text's ids repeated: the word cache and the
// splitting carry no state from one copy to the next. (Encode throughput is measured by
// tools/tokenizer_bench, not here.)
TEST(LongText, RepeatedTextEncodesToRepeatedIds) {
  std::ifstream in(kDir + "training_corpus.txt", std::ios::binary);
  std::string corpus((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(corpus.empty());
  const int copies = 8;  // ~140 KB
  std::string big;
  for (int i = 0; i < copies; ++i) big += corpus;
  for (const char* name : {"gpt2", "qwen2", "llama3", "repro_qwen"}) {
    auto tokenizer = qk::Tokenizer::from_file(kDir + name + ".json");
    const Ids once = tokenizer.encode(corpus);  // starts with an empty word cache
    const Ids all = tokenizer.encode(big);
    ASSERT_EQ(all.size(), once.size() * copies) << name;
    for (int c = 0; c < copies; ++c)
      EXPECT_TRUE(std::equal(once.begin(), once.end(), all.begin() + static_cast<long>(c * once.size()))) << name << " copy " << c;
  }
}

}  // namespace

namespace {

TEST(FromFile, ModelDirectoryMeansItsTokenizerJson) {
  auto dir = std::filesystem::temp_directory_path() / ("qk_tokenizer_dir_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kDir + "repro_qwen.json", dir / "tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  auto from_dir = qk::Tokenizer::from_file(dir);
  auto from_file = qk::Tokenizer::from_file(kDir + "repro_qwen.json");
  EXPECT_EQ(from_dir.encode("Hello world"), from_file.encode("Hello world"));
  EXPECT_EQ(from_dir.vocab_size(), from_file.vocab_size());
  std::filesystem::remove_all(dir);
}

}  // namespace

namespace {

// Decoding a prefix of the ids of a multi-byte character gives valid UTF-8 with U+FFFD for the
// incomplete tail (from_utf8_lossy), so callers streaming partial output never see broken UTF-8.
TEST(Decode, PartialCharacterBecomesReplacementCharacter) {
  for (const char* name : {"qwen2", "llama2"}) {
    auto tokenizer = qk::Tokenizer::from_file(kDir + name + ".json");
    std::string text = "ok 😀 👩‍💻 ok";
    Ids ids = tokenizer.encode(text);
    EXPECT_EQ(tokenizer.decode(ids), text) << name;
    bool saw_partial = false;
    for (std::size_t n = 0; n <= ids.size(); ++n) {
      std::string prefix = tokenizer.decode(std::span<const std::int32_t>(ids.data(), n));
      EXPECT_TRUE(qk::is_valid_utf8(prefix)) << name << " prefix of " << n << " ids";
      saw_partial = saw_partial || prefix.find("\xEF\xBF\xBD") != std::string::npos;
    }
    EXPECT_TRUE(saw_partial) << name << ": the emoji should take several byte tokens in a small vocab";
  }
}

}  // namespace
