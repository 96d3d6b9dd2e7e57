// One Tokenizer shared by several threads: the word cache is shared and filled concurrently, and every
// thread must still get exactly the ids of a single-threaded encode.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tokenizer/tokenizer.hpp"

namespace {

TEST(Concurrency, ThreadsSharingOneTokenizerGetSingleThreadedIds) {
  const std::string dir = std::string(QK_SOURCE_DIR) + "/testdata/tokenizer/";
  std::ifstream in(dir + "training_corpus.txt", std::ios::binary);
  std::string corpus((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Different slices per thread, so threads insert different words into the cache at the same time.
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < 8; ++i) texts.push_back(corpus.substr(i * corpus.size() / 8));
  std::vector<std::vector<std::int32_t>> expected;
  {
    auto reference = qk::Tokenizer::from_file(dir + "qwen2.json");
    for (const auto& t : texts) expected.push_back(reference.encode(t));
  }
  auto shared = qk::Tokenizer::from_file(dir + "qwen2.json");
  std::vector<std::vector<std::int32_t>> got(texts.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < texts.size(); ++i)
    threads.emplace_back([&, i] {
      for (int round = 0; round < 3; ++round) got[i] = shared.encode(texts[i]);
    });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "thread " << i;
}

}  // namespace
