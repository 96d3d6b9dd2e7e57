// Fuzzes chat templates: lexing, parsing and rendering arbitrary template text (seeded with the real
// templates of testdata/jinja) against a conversation with a system prompt, tool calls, a tool result
// and tools, the way the server renders them. Any rejection must be a qk::Error.
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "jinja/template.hpp"

namespace {

const nlohmann::ordered_json& context() {
  static const auto c = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Weather in Paris? caf\u00e9 \ud83d\ude00"},
      {"role": "assistant", "content": "", "reasoning_content": "call the tool",
       "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "{\"t\": 21}"},
      {"role": "assistant", "content": "<think>\n21\n</think>\n\nIt is 21 degrees."}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "weather",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false,
    "date_string": "26 Jul 2024"
  })");
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  qk::fuzz::expect_only_qk_errors([&] {
    const qk::jinja::Template t(std::string(qk::fuzz::as_text(data, size)), "fuzz.jinja");
    t.render(context(), 200000);  // a runaway template fails in milliseconds, far inside the fuzz timeout
  });
  return 0;
}
