// Every JSON reader gets the same hostile values in one of its fields (issue 17): a number too large
// for a double, -0, 2^63 and 2^64, huge and negative indices, wrong types, and a duplicated key.
// Each reader either accepts the value or throws qk::Error naming its file; no nlohmann or std::sto*
// exception may escape (the CLI would print it as an "internal error"). 1e400 and a duplicate key
// must be refused by every one, as Error(Format) naming the file (but tokenizer.json, which keeps the
// last of two keys as the tokenizers library does: testdata/malformed's vocab_duplicate_key).
#include <functional>

#include "arch/layout.hpp"
#include "fault_support.hpp"
#include "io/safetensors.hpp"
#include "niah/sample_jsonl.hpp"
#include "niah/scoring.hpp"
#include "support/surgery_output.hpp"
#include "surgery/blend_method.hpp"
#include "surgery/plan.hpp"
#include "surgery/repair_spec.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/files.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

const char* const kHostile[] = {"1e400", "-1e400", "-0", "9223372036854775808", "18446744073709551616", "99999999999",
                                "-1",    "1.5",    "\"x\"", "\"3\"", "[]", "{}", "null", "true", "[9223372036854775807]"};

// A reader: a valid document with "@" where the hostile value goes, and how to read it from a file.
struct Reader {
  std::string name, document;
  std::function<void(const fs::path& file)> read;
  std::string named_file = "input.json";  // the file its errors name (readers of a fixed name get a copy)
};

// Writes `text` as the reader's file and reads it; returns the qk::Error it threw, if any.
void read_alpha_file(const fs::path& f) {
  RepairSpec::parse_args(MethodKind::Blend, std::vector<std::string>{"--alpha-file", f.string()});
}

bool names_the_file(const Reader& reader, const Error& error) {
  return std::string(error.what()).find(reader.named_file) != std::string::npos;
}

std::optional<Error> read_text(const Reader& reader, const fs::path& dir, const std::string& text) {
  const fs::path file = dir / "input.json";
  test::write_bytes(file, text);
  try {
    reader.read(file);
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << reader.name << ": " << text.substr(0, 200) << "\n  escaped as a non-qk exception: " << e.what();
  }
  return std::nullopt;
}

class HostileJson : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    // An output of blend, whose qkrestore.json verify reads back.
    const fs::path pair = test::checkpoints_dir() / "qwen3_next";
    Checkpoint base(pair / "base"), sft(pair / "sft");
    const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
    write_output(base, sft, plan, BlendMethod(0.5), test::quiet_output(*dir_ / "blended"));
    fs::copy(test::checkpoints_dir() / "llama_sharded" / "sft", *dir_ / "sharded");
  }
  static void TearDownTestSuite() { delete dir_; }

  // The document of `reader` with `value` in place of "@", and with its first key written twice.
  static std::vector<Reader> readers() {
    const fs::path pair = test::checkpoints_dir() / "qwen3_next";
    std::string config = read_text_file(pair / "sft" / "config.json");
    config.replace(config.find("\"num_hidden_layers\""), 0, "\"num_hidden_layers\": @, \"ignored\": ");
    std::string index = read_text_file(*dir_ / "sharded" / "model.safetensors.index.json");
    index.replace(index.find("\"metadata\""), 0, "\"extra\": @, ");
    std::string provenance = read_text_file(*dir_ / "blended" / "qkrestore.json");
    provenance.replace(provenance.find("\"method_options\""), std::string("\"method_options\"").size(),
                       "\"method_options\": {\"alpha\": 0.5, \"layers\": {\"3\": @, \"1\": 0.25}}, \"unused\"");
    return {
        {"safetensors header", R"({"t": {"dtype": "F32", "shape": [@], "data_offsets": [0, 4]}})",
         [](const fs::path& f) { parse_safetensors_header(read_text_file(f), 4, f.string()); }},
        {"safetensors offsets", R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, @]}})",
         [](const fs::path& f) { parse_safetensors_header(read_text_file(f), 4, f.string()); }},
        {"config.json", config,
         [](const fs::path& f) {
           ModelLayout layout(read_json_file(f), FamilyTable::builtin(), f.string());
           (void)layout.rotary_dim();
         }},
        {"model.safetensors.index.json", index,
         [](const fs::path& f) {
           fs::copy_file(f, *dir_ / "sharded" / "model.safetensors.index.json", fs::copy_options::overwrite_existing);
           Checkpoint checkpoint(*dir_ / "sharded");
         },
         "model.safetensors.index.json"},
        {"families.json", R"({"families": {"x": {"layer_kinds": @}}})",
         [](const fs::path& f) { FamilyTable::from_file(f); }},
        {"tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []},
                               "added_tokens": [{"id": @, "content": "<x>", "special": true}]})",
         [](const fs::path& f) { Tokenizer::from_file(f).encode("ab<x>", true); }},
        {"qkrestore.json", provenance,
         [](const fs::path& f) {
           const fs::path pair = test::checkpoints_dir() / "qwen3_next";
           fs::copy_file(f, *dir_ / "blended" / "qkrestore.json", fs::copy_options::overwrite_existing);
           Checkpoint base(pair / "base"), sft(pair / "sft");
           verify_output(base, sft, *dir_ / "blended", FamilyTable::builtin(), true);
         },
         "qkrestore.json"},
        {"blend file", R"({"alpha": 0.5, "layers": {"3": @}})", [](const fs::path& f) { read_alpha_file(f); }},
        {"blend file layer key", R"({"alpha": 0.5, "layers": {"@": 1}})", [](const fs::path& f) { read_alpha_file(f); }},
        {"niah task line", R"({"index": @, "input": "q", "outputs": ["a"], "length": 5, "seed": @})",
         [](const fs::path& f) { niah::index_task_file(f); }},
        {"niah prediction line", R"({"pred": "a", "outputs": ["a"], "max_seq_length": @, "index": @})",
         [](const fs::path& f) { niah::score_predictions_file(f); }},
        {"niah summary.json", R"({"predictions": @, "grid": false, "tasks": [], "lengths": [@], "depths": [],
                                  "by_task_length": [], "by_task_length_depth": []})",
         [](const fs::path& f) { niah::read_summary_json(f); }},
    };
  }
  static test::TempDir* dir_;
};
test::TempDir* HostileJson::dir_ = nullptr;

std::string with_value(std::string document, const std::string& value) {
  for (std::size_t at; (at = document.find('@')) != std::string::npos;) document.replace(at, 1, value);
  return document;
}

TEST_F(HostileJson, EveryReaderAcceptsOrNamesItsFile) {
  test::TempDir dir;
  for (const auto& reader : readers()) {
    const bool value_is_a_key = reader.name.ends_with("key");
    for (const char* value : kHostile) {
      // As a key the value is text: strip the quotes of the string values.
      std::string v = value;
      if (value_is_a_key && v.front() == '"') v = v.substr(1, v.size() - 2);
      const auto error = read_text(reader, dir.path(), with_value(reader.document, v));
      if (error) {
        EXPECT_TRUE(names_the_file(reader, *error)) << reader.name << " with " << value << ": " << error->what();
      }
    }
  }
}

TEST_F(HostileJson, TooLargeNumbersAndDuplicateKeysAreFormatErrors) {
  test::TempDir dir;
  for (const auto& reader : readers()) {
    if (reader.name.ends_with("key")) continue;
    std::string duplicated = with_value(reader.document, "1");
    duplicated.replace(duplicated.find('{') + 1, 0, R"("twice": 1, "twice": 2, )");
    for (const std::string& text : {with_value(reader.document, "1e400"), duplicated}) {
      if (text == duplicated && reader.name == "tokenizer.json") continue;
      const auto error = read_text(reader, dir.path(), text);
      ASSERT_TRUE(error) << reader.name << " accepted " << text.substr(0, 120);
      EXPECT_EQ(error->kind(), ErrorKind::Format) << reader.name << ": " << error->what();
      EXPECT_TRUE(names_the_file(reader, *error)) << reader.name << ": " << error->what();
    }
  }
}

}  // namespace
}  // namespace qk
