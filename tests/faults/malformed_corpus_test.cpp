// The malformed-input corpus (testdata/malformed, made by its make_corpus.py): every case goes to
// its parser and must be rejected with the expected error kind and a message containing the
// expected text, or accepted where expected.json says "ok". Nothing may crash or escape as a
// non-qk::Error (the CLI would print that as an "internal error").
#include <functional>

#include "arch/layout.hpp"
#include "fault_support.hpp"
#include "backend/openai_backend.hpp"
#include "raw_reply_server.hpp"
#include "surgery/plan.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

const fs::path kCorpus = test::source_dir() / "testdata" / "malformed";

struct Case {
  std::string parser, file, kind, message, why, family;
  int retries = 0;  // http: attempts after the first
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const nlohmann::json expected = read_json_file(kCorpus / "expected.json");  // kept alive: the loop iterates into it
  for (const auto& c : expected["cases"])
    cases.push_back({c["parser"].get<std::string>(), c["file"].get<std::string>(), c["kind"].get<std::string>(),
                     c["message"].get<std::string>(), c["why"].get<std::string>(), c.value("family", ""), c.value("retries", 0)});
  return cases;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.file; }

void open_safetensors(const Case& c) { SafetensorsFile file(kCorpus / c.file); }

// A copy of the llama_sharded SFT checkpoint with the case's index beside its shards.
void open_index(const Case& c) {
  test::TempDir dir;
  const fs::path ckpt = dir / "ckpt";
  fs::copy(test::checkpoints_dir() / "llama_sharded" / "sft", ckpt);
  fs::copy_file(kCorpus / c.file, ckpt / "model.safetensors.index.json", fs::copy_options::overwrite_existing);
  Checkpoint checkpoint(ckpt);
}

// The case's config.json in place of both configs of the family's test pair, then a full plan.
void plan_with_config(const Case& c) {
  test::TempDir dir;
  for (const char* side : {"base", "sft"}) {
    fs::copy(test::checkpoints_dir() / c.family / side, dir / side);
    fs::copy_file(kCorpus / c.file, dir / side / "config.json", fs::copy_options::overwrite_existing);
  }
  Checkpoint base(dir / "base"), sft(dir / "sft");
  make_plan(base, sft, {}, FamilyTable::builtin());
}

void load_tokenizer(const Case& c) {
  Tokenizer tokenizer = Tokenizer::from_file(kCorpus / c.file);
  tokenizer.decode(tokenizer.encode("ab ab", true));
}

void ask_server(const Case& c) {
  auto& server = test::RawReplyServer::shared();
  server.set_reply(test::read_bytes(kCorpus / c.file));
  backend::OpenAiOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(server.port());
  options.model = "corpus";
  options.retries = c.retries;
  options.backoff_s = 0.01;
  options.connect_timeout_s = options.read_timeout_s = 5;
  auto backend = backend::make_openai_backend(options);
  backend->generate({backend::Prompt{"question", " answer:", 4}});
}

const std::map<std::string, std::function<void(const Case&)>> kParsers = {
    {"safetensors", open_safetensors}, {"index", open_index}, {"config", plan_with_config},
    {"tokenizer", load_tokenizer},     {"http", ask_server},
};

class MalformedCorpus : public ::testing::TestWithParam<Case> {};

TEST_P(MalformedCorpus, RejectedWithTheExpectedMessage) {
  const Case& c = GetParam();
  ASSERT_TRUE(kParsers.count(c.parser)) << c.parser;
  SCOPED_TRACE(c.why);
  try {
    kParsers.at(c.parser)(c);
    EXPECT_EQ(c.kind, "ok") << c.file << " was accepted but should fail with: " << c.message;
  } catch (const Error& e) {
    EXPECT_NE(c.kind, "ok") << c.file << " should be accepted: " << e.what();
    std::string kind = error_kind_name(e.kind());
    kind[0] = static_cast<char>(std::toupper(kind[0]));
    EXPECT_EQ(kind, c.kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << "message: " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << c.file << " escaped as a non-qk::Error (shown to users as an internal error): " << e.what();
  }
}

std::string name_of(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.parser + "_" + fs::path(info.param.file).stem().string();
  for (auto& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}
INSTANTIATE_TEST_SUITE_P(Cases, MalformedCorpus, ::testing::ValuesIn(all_cases()), name_of);

// Every file in the corpus has an expectation, so a case cannot be added and silently skipped.
TEST(MalformedCorpusFiles, EveryFileHasAnExpectation) {
  std::set<std::string> expected;
  for (const auto& c : all_cases()) expected.insert(c.file);
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(kCorpus)) {
    if (!e.is_regular_file() || e.path().parent_path() == kCorpus) continue;
    ++files;
    const std::string relative = e.path().lexically_relative(kCorpus).generic_string();
    EXPECT_TRUE(expected.count(relative)) << relative << " has no entry in expected.json (" << expected.size() << " entries)";
  }
  EXPECT_EQ(files, static_cast<int>(expected.size()));
  std::printf("[ faults   ] malformed corpus: %d inputs\n", files);
}

}  // namespace
}  // namespace qk
