// tokenizer.json "normalizer": NFC/NFD/NFKC/NFKD (ICU), Lowercase, Replace, Prepend, Strip, Sequence.
// A normalizer rewrites one piece of text in place; it runs on each piece between added tokens.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace qk::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

// Builds the normalizer that `config` describes; nullptr for JSON null. `where` names the file.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& config, const std::string& where);

}  // namespace qk::tok
