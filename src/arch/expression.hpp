// Tiny arithmetic over config.json values, so the architecture table can say
// "head_dim ?? hidden_size / num_attention_heads" as data.
// Grammar: expr := fallback; fallback := sum ('??' sum)*; sum := product (('+'|'-') product)*;
//          product := atom (('*'|'/') atom)*; atom := number | path | '(' expr ')'
// A path is a dotted config key (linear_attn_config.full_attn_layers). `a ?? b` is a when a's keys
// are all present and not null, else b. Booleans read as 1/0.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace qk {

// Looks up a name: a dims entry or a dotted config key; nullopt when absent.
using NameLookup = std::function<std::optional<double>(std::string_view)>;

// Returns nullopt when a key the expression needs is absent; throws Error(Format) on bad syntax.
std::optional<double> evaluate_expression(std::string_view expression, const NameLookup& lookup);

}  // namespace qk
