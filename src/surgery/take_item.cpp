// The grammar of `--take`: one item per unit of a class selection, joined by commas.
//   ITEM    := CLASS [ "@" LAYERS ] [ ":" GROUPS ] [ ":" WEIGHT ]
//   LAYERS  := N | N-M | *          (classes of the layer stack only; * = every layer that holds the class)
//   GROUPS  := G | G-G | * | qH      (attn.q, attn.k, attn.qk only: KV groups / one query head, as --heads)
//   WEIGHT  := a number in [0, 1]     (weight of base: 1 = restore, 0.25 = 0.25 base + 0.75 SFT)
// For a class cut per head the first field after LAYERS is GROUPS, for any other class it is WEIGHT:
// `attn.qk@3:1` is KV group 1, `mlp@0-3:1` is a weight of 1, `attn.qk@3:*:0.5` every group at 0.5.
#include <charconv>

#include <fmt/format.h>

#include "arch/tensor_classes.hpp"
#include "surgery/repair_spec.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

constexpr const char* kGrammar =
    "expected CLASS@LAYERS[:GROUPS][:WEIGHT], e.g. mlp@0-3:0.25, attn.qk@3:3, attn.qk@3:*:0.5, embed:0.5 (docs/repair-spec.md)";

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(separator, start);
    parts.emplace_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// A non-negative decimal integer filling all of `text`, or -1.
int index_of(std::string_view text) {
  int value = -1;
  if (text.empty()) return -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec != std::errc() || end != text.data() + text.size() || value < 0 ? -1 : value;
}

}  // namespace

TakeItem TakeItem::parse(std::string_view token, const std::string& where) {
  auto bad = [&](std::string_view why) -> void { fail(ErrorKind::Usage, "{}: item '{}' {}; {}", where, token, why, kGrammar); };
  const TensorClasses& classes = TensorClasses::builtin();
  TakeItem item;
  const std::size_t at = token.find('@');
  std::vector<std::string> fields = split(token.substr(0, at == std::string_view::npos ? token.size() : at), ':');
  std::string rest;  // the ':'-separated fields after CLASS or after @LAYERS
  if (at != std::string_view::npos) {
    if (fields.size() != 1) bad("has ':' before '@'");
    fields = split(token.substr(at + 1), ':');
  }
  item.tensor_class = at == std::string_view::npos ? fields.front() : std::string(token.substr(0, at));
  if (at == std::string_view::npos) fields.erase(fields.begin());
  if (item.tensor_class.empty()) bad("names no class");
  if (classes.expand(item.tensor_class).empty()) bad(fmt::format("names no tensor class ('{}'); the classes: {}", item.tensor_class, classes.choices()));
  const bool per_layer = classes.per_layer(item.tensor_class);
  if (per_layer && at == std::string_view::npos)
    bad(fmt::format("gives no layers: {} is a class of the layer stack (e.g. {}@0-3, {}@*)", item.tensor_class, item.tensor_class, item.tensor_class));
  if (!per_layer && at != std::string_view::npos)
    bad(fmt::format("gives layers, but {} lies outside the layer stack", item.tensor_class));
  if (per_layer) {
    const std::string layers = fields.front();
    fields.erase(fields.begin());
    if (layers == "*") {
      item.all_layers = true;
    } else {
      const std::size_t dash = layers.find('-');
      const int first = index_of(std::string_view(layers).substr(0, dash));
      const int last = dash == std::string::npos ? first : index_of(std::string_view(layers).substr(dash + 1));
      if (first < 0 || last < 0) bad(fmt::format("has '{}' where a layer N, a range N-M or * goes", layers));
      if (last < first) bad(fmt::format("has the layer range '{}', which ends before it starts", layers));
      item.layers = {first, last};
    }
  }
  if (classes.per_head(item.tensor_class) && !fields.empty()) {
    LayerHeadRequest request;
    if (const std::string why = parse_layer_heads(fields.front(), request); !why.empty())
      bad(fmt::format("has '{}' where KV groups go ({})", fields.front(), why));
    item.heads = request;
    fields.erase(fields.begin());
  }
  if (!fields.empty()) {
    const std::string& text = fields.front();
    double weight = -1;
    try {
      weight = parse_number(text, "weight");
    } catch (const Error&) {
      bad(fmt::format("has '{}' where a weight in [0, 1] goes{}", text,
                      classes.per_head(item.tensor_class) ? "" : fmt::format(" ({} is not cut per head)", item.tensor_class)));
    }
    if (!(weight >= 0 && weight <= 1)) bad(fmt::format("has the weight {}, outside [0, 1] (1: base, 0: SFT)", text));
    item.weight = weight;
    fields.erase(fields.begin());
  }
  if (!fields.empty()) bad(fmt::format("has '{}' left over", fields.front()));
  return item;
}

std::string TakeItem::to_string() const {
  std::string text = tensor_class;
  if (all_layers) text += "@*";
  else if (layers) text += layers->first == layers->second ? fmt::format("@{}", layers->first) : fmt::format("@{}-{}", layers->first, layers->second);
  if (heads) text += ":" + layer_heads_text(*heads);
  if (weight) text += ":" + fmt::format("{}", *weight);
  return text;
}

std::vector<TakeItem> parse_take(const std::string& text, const std::string& option) {
  const std::string where = fmt::format("{} '{}'", option, text);
  std::vector<TakeItem> items;
  for (const auto& token : split(text, ',')) {
    if (token.empty()) fail(ErrorKind::Usage, "{}: an item is empty; {}", where, kGrammar);
    items.push_back(TakeItem::parse(token, where));
  }
  return items;
}

std::string take_text(const std::vector<TakeItem>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item.to_string();
  return text;
}

}  // namespace qk
