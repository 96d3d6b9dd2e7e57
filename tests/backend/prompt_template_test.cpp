// The template policy every task shares (backend/prompt_template.hpp): built-in and file templates,
// and the model's chat template sent as chat or rendered here around the k-shot turns.
#include <gtest/gtest.h>

#include "backend/prompt_template.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

using namespace qk;
using namespace qk::backend;

namespace {

TEST(ModelTemplate, BuiltinsAndFiles) {
  EXPECT_EQ(fill_model_template(builtin_model_template("base"), "T"), "T");
  EXPECT_EQ(fill_model_template(builtin_model_template("chatml"), "T"),
            "<|im_start|>user\nT<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(builtin_model_template("meta-llama3").name, "llama-3");
  EXPECT_THROW(builtin_model_template("vicuna"), Error);
  test::TempDir dir;
  test::write_bytes(dir / "t.txt", "<s>{task_template}</s>");
  EXPECT_EQ(model_template({.source = TemplateSource::File, .file = dir / "t.txt"}).text, "<s>{task_template}</s>");
  test::write_bytes(dir / "twice.txt", "{task_template}{task_template}");
  EXPECT_THROW(model_template_from_file(dir / "twice.txt"), Error);
  EXPECT_THROW(model_template_from_file(dir / "missing.txt"), Error);
  // No chat template in the folder: ChatML, which is the built-in chatml template.
  EXPECT_EQ(model_template({.source = TemplateSource::ModelChat, .model_dir = dir.path()}).text,
            builtin_model_template("chatml").text);
}

TEST(QuestionTemplate, BuiltinAndFileTemplatesAreRawText) {
  const auto base = question_template({}, true, {});
  EXPECT_FALSE(base.chat);
  EXPECT_EQ(base.text, "{question}");
  const auto chatml = question_template({.builtin = "chatml"}, true, {});
  EXPECT_EQ(chatml.text, "<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_FALSE(chatml.holds_examples);
  test::TempDir dir;
  test::write_bytes(dir / "q.txt", "Q: {question}\nA:");
  EXPECT_EQ(question_template({.source = TemplateSource::File, .file = dir / "q.txt"}, false, {}).text, "Q: {question}\nA:");
  test::write_bytes(dir / "none.txt", "no field");
  EXPECT_THROW(question_template({.source = TemplateSource::File, .file = dir / "none.txt"}, false, {}), Error);
}

TEST(QuestionTemplate, TheModelsChatTemplateGoesAsChatOrIsRenderedAroundTheExamples) {
  test::TempDir dir;
  const TemplateChoice model{.source = TemplateSource::ModelChat, .model_dir = dir.path()};
  const std::vector<ChatTurn> shots{{"user", "1+1?"}, {"assistant", "2"}};
  const auto chat = question_template(model, true, shots);
  EXPECT_TRUE(chat.chat);
  const auto raw = question_template(model, false, shots);
  EXPECT_FALSE(raw.chat);
  EXPECT_TRUE(raw.holds_examples);
  EXPECT_EQ(raw.text,
            "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n"
            "<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n");
  test::write_bytes(dir / "chat_template.jinja", "{{ bos_token }}");  // drops the messages
  EXPECT_THROW(question_template(model, false, {}), Error);
}

}  // namespace
