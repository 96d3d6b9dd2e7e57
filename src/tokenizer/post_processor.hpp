// tokenizer.json "post_processor" for a single sequence: TemplateProcessing (e.g. "<s> $A"),
// BertProcessing / RobertaProcessing (cls $A sep), ByteLevel (offsets only: ids unchanged), Sequence.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qk::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Rewrites the ids of one encoded sequence (called only when add_special_tokens is true).
  virtual void process(std::vector<std::int32_t>& ids) const = 0;
};

// nullptr for JSON null. `where` names the file.
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& config, const std::string& where);

}  // namespace qk::tok
