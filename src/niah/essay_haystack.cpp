#include "niah/essay_haystack.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

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

}  // namespace qk::niah
