#include "niah/essay_haystack.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/json.hpp"
#include "util/files.hpp"

namespace qk::niah {

EssayHaystack EssayHaystack::load(const std::filesystem::path& path) {
  std::string content = read_text_file(path);
  if (path.extension() == ".json") {
    const nlohmann::json doc = parse_json(content, "haystack " + path.string());
    if (!doc.is_object() || !doc.contains("text") || !doc["text"].is_string())
      fail(ErrorKind::Format, "haystack {}: expected an object with a string field \"text\" (PaulGrahamEssays.json)",
           path.string());
    content = doc["text"].get<std::string>();
  }
  return from_text(content, path.filename().string());
}

EssayHaystack EssayHaystack::from_text(std::string_view text, std::string source) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  if (words.empty()) fail(ErrorKind::Format, "haystack {} holds no words", source);
  return EssayHaystack(std::move(words), std::move(source));
}

EssayHaystack::EssayHaystack(std::vector<std::string> words, std::string source)
    : words_(std::move(words)), source_(std::move(source)) {
  // The last word of a pass is followed by the first word of the next pass when the text repeats.
  for (std::size_t i = 0; i < words_.size(); ++i)
    if (ends_sentence(words_[i], words_[(i + 1) % words_.size()])) end_positions_.push_back(i);
}

std::size_t EssayHaystack::ends_before(std::size_t i) const {
  std::size_t passes = i / words_.size(), rest = i % words_.size();
  auto in_rest = std::lower_bound(end_positions_.begin(), end_positions_.end(), rest) - end_positions_.begin();
  return passes * end_positions_.size() + static_cast<std::size_t>(in_rest);
}

std::size_t EssayHaystack::sentence_count(std::size_t n) const { return n == 0 ? 0 : ends_before(n - 1) + 1; }

std::size_t EssayHaystack::sentence_start(std::size_t s, std::size_t n) const {
  if (s == 0) return 0;
  if (s >= sentence_count(n)) return n;
  // The (s-1)-th sentence end (0-based) over the repeated text; the sentence starts right after it.
  std::size_t t = s - 1, per_pass = end_positions_.size();
  return (t / per_pass) * words_.size() + end_positions_[t % per_pass] + 1;
}

bool ends_sentence(std::string_view word, std::string_view next) {
  // Strip closing quotes and brackets: ASCII ones and the UTF-8 right quotes U+2019 / U+201D.
  std::size_t end = word.size();
  for (;;) {
    if (end > 0 && std::string_view("\"')]}").find(word[end - 1]) != std::string_view::npos) {
      --end;
    } else if (end >= 3 && static_cast<unsigned char>(word[end - 3]) == 0xe2 &&
               static_cast<unsigned char>(word[end - 2]) == 0x80 &&
               (static_cast<unsigned char>(word[end - 1]) == 0x9d || static_cast<unsigned char>(word[end - 1]) == 0x99)) {
      end -= 3;
    } else {
      break;
    }
  }
  if (end == 0) return false;
  char last = word[end - 1];
  if (last != '.' && last != '!' && last != '?') return false;
  if (!next.empty() && std::islower(static_cast<unsigned char>(next[0]))) return false;
  if (last == '.') {
    std::string_view stem = word.substr(0, end - 1);
    while (!stem.empty() && std::string_view("\"'([{").find(stem.front()) != std::string_view::npos)
      stem.remove_prefix(1);
    if (stem.size() == 1 && std::isalpha(static_cast<unsigned char>(stem[0]))) return false;  // initial "J."
    if (stem.ends_with(".")) return stem.ends_with("..");  // "e.g." no, "so..." yes
    static constexpr std::array<std::string_view, 20> kAbbreviations = {
        "Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Prof", "Gen", "Col",
        "Capt", "Lt", "vs", "etc", "Inc", "Co", "Ltd", "No", "Vol", "cf"};
    for (auto abbreviation : kAbbreviations)
      if (stem == abbreviation) return false;
  }
  return true;
}

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
