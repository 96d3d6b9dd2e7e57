#include "niah/essay_token_index.hpp"

#include <string>
#include <unordered_map>

namespace qk::niah {

EssayTokenIndex::EssayTokenIndex(const EssayHaystack& essay, const TokenCounter& counter) {
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
}

std::uint64_t EssayTokenIndex::tokens_of_first(std::size_t n) const {
  if (n == 0) return 0;
  std::size_t words = prefix_.size() - 1;
  std::uint64_t total = (n / words) * pass_total_ + prefix_[n % words];
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(total) + first_word_correction_);
}

}  // namespace qk::niah
