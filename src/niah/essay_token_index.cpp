#include "niah/essay_token_index.hpp"

#include <future>
#include <string>
#include <unordered_map>

namespace qk::niah {

EssayTokenIndex::EssayTokenIndex(const EssayHaystack& essay, const TokenCounter& counter) {
  // The one full tokenization that settles additivity below is most of the set-up time: it runs on a
  // second thread while the per-word counts are made (the counter is thread-safe).
  std::string joined;
  for (std::size_t i = 0; i < essay.size(); ++i) {
    if (i) joined += ' ';
    joined += essay.word(i);
  }
  std::future<std::size_t> full_count = std::async(std::launch::async, [&] { return counter.count(joined); });

  std::unordered_map<std::string, std::uint32_t> per_word;  // distinct words are few (~2% of a corpus)
  prefix_.resize(essay.size() + 1);
  prefix_[0] = 0;
  std::string spaced;
  for (std::size_t i = 0; i < essay.size(); ++i) {
    auto [it, inserted] = per_word.try_emplace(essay.word(i), 0);
    if (inserted) {
      spaced = " " + essay.word(i);
      it->second = static_cast<std::uint32_t>(counter.count(spaced));
    }
    prefix_[i + 1] = prefix_[i] + it->second;
  }
  pass_total_ = prefix_.back();
  first_word_correction_ =
      static_cast<std::int64_t>(counter.count(essay.word(0))) - static_cast<std::int64_t>(prefix_[1]);
  // One full tokenization of the text, and a small one of the seam where it repeats, settle whether
  // per-word counts add up for this tokenizer.
  const std::string& last = essay.word(essay.size() - 1);
  const std::string wrap = " " + last + " " + essay.word(0);
  additive_ = full_count.get() == tokens_of_first(essay.size()) &&
              counter.count(wrap) == counter.count(" " + last) + counter.count(" " + essay.word(0));
}

std::uint64_t EssayTokenIndex::prefix(std::size_t n) const {
  const std::size_t words = prefix_.size() - 1;
  return (n / words) * pass_total_ + prefix_[n % words];
}

std::uint64_t EssayTokenIndex::tokens_of_first(std::size_t n) const {
  if (n == 0) return 0;
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(prefix(n)) + first_word_correction_);
}

}  // namespace qk::niah
