#include "tokenizer/post_processor.hpp"

#include <nlohmann/json.hpp>

#include "util/json.hpp"
#include "util/error.hpp"

namespace qk::tok {
namespace {

// The "single" template: a list of pieces, each the input sequence or a special token's ids.
class Template : public PostProcessor {
 public:
  struct Item {
    bool is_sequence;
    std::vector<std::int32_t> ids;  // the special token's ids when !is_sequence
  };
  explicit Template(std::vector<Item> items) : items_(std::move(items)) {}
  void process(std::vector<std::int32_t>& ids) const override {
    std::vector<std::int32_t> out;
    out.reserve(ids.size() + items_.size());
    for (const Item& item : items_) {
      if (item.is_sequence) out.insert(out.end(), ids.begin(), ids.end());
      else out.insert(out.end(), item.ids.begin(), item.ids.end());
    }
    ids = std::move(out);
  }

 private:
  std::vector<Item> items_;
};

class Identity : public PostProcessor {
 public:
  void process(std::vector<std::int32_t>&) const override {}
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void process(std::vector<std::int32_t>& ids) const override {
    for (const auto& step : steps_) step->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

std::unique_ptr<PostProcessor> make_template(const nlohmann::json& config, const std::string& where) {
  const auto& specials = config.contains("special_tokens") ? config["special_tokens"] : nlohmann::json::object();
  std::vector<Template::Item> items;
  for (const auto& piece : array_field(config, "single", where)) {
    if (piece.contains("Sequence")) {
      std::string id = string_field(piece["Sequence"], "id", where + " single");
      if (id != "A") fail(ErrorKind::Format, "{}: single template uses sequence ${}, expected $A", where, id);
      items.push_back({true, {}});
    } else if (piece.contains("SpecialToken")) {
      std::string name = string_field(piece["SpecialToken"], "id", where + " single");
      if (!specials.contains(name))
        fail(ErrorKind::Format, "{}: template token '{}' is missing from special_tokens", where, name);
      std::vector<std::int32_t> ids;
      for (const auto& id : array_field(specials[name], "ids", where + " special_tokens." + name))
        ids.push_back(id.get<std::int32_t>());
      items.push_back({false, std::move(ids)});
    } else {
      fail(ErrorKind::Format, "{}: template piece must be Sequence or SpecialToken", where);
    }
  }
  return std::make_unique<Template>(std::move(items));
}

// BertProcessing and RobertaProcessing: "cls": [token, id], "sep": [token, id]; single is cls $A sep.
std::unique_ptr<PostProcessor> make_cls_sep(const nlohmann::json& config, const std::string& where) {
  auto id_of = [&](const char* key) {
    const auto& pair = array_field(config, key, where);
    if (pair.size() != 2 || !pair[1].is_number_integer())
      fail(ErrorKind::Format, "{}: '{}' must be [token, id]", where, key);
    return pair[1].get<std::int32_t>();
  };
  return std::make_unique<Template>(std::vector<Template::Item>{{false, {id_of("cls")}}, {true, {}}, {false, {id_of("sep")}}});
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& config, const std::string& where) {
  if (config.is_null()) return nullptr;
  std::string type = string_field(config, "type", where);
  std::string here = where + " post_processor " + type;
  if (type == "TemplateProcessing") return make_template(config, here);
  if (type == "BertProcessing" || type == "RobertaProcessing") return make_cls_sep(config, here);
  if (type == "ByteLevel") return std::make_unique<Identity>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (const auto& step : array_field(config, "processors", here)) {
      if (auto p = make_post_processor(step, where)) steps.push_back(std::move(p));
    }
    return std::make_unique<SequenceProcessor>(std::move(steps));
  }
  fail(ErrorKind::Unsupported, "{}: post_processor type '{}' is not supported (supported: TemplateProcessing, "
       "BertProcessing, RobertaProcessing, ByteLevel, Sequence)", where, type);
}

}  // namespace qk::tok
