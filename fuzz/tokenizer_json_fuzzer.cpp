// Fuzzes tokenizer.json: models, normalizers, pre-tokenizers (regexes included), decoders,
// post-processors and added tokens. A tokenizer that loads must then encode and decode a fixed
// mix of ASCII, accents, CJK, emoji, control bytes and special-token look-alikes without crashing,
// and decode arbitrary ids (in and out of range).
#include <optional>
#include <vector>

#include "fuzz_support.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

constexpr std::string_view kTexts[] = {
    "Hello world, 123 ab c!",
    "  leading spaces\tand\ttabs\n\nnewlines  ",
    "caf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 <|endoftext|><s></s>[CLS]",
    std::string_view("\x00\x01\x7f\xff\xfe invalid utf8 \xe4\xb8", 21),  // ends inside a 3-byte sequence
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<qk::Tokenizer> tokenizer;
  qk::fuzz::expect_only_qk_errors(
      [&] { tokenizer.emplace(qk::Tokenizer::from_json_text(qk::fuzz::as_text(data, size), "fuzz tokenizer.json")); });
  if (!tokenizer) return 0;
  // Each step on its own: one rejected text must not hide the others.
  for (auto text : kTexts) {
    for (bool special : {false, true}) {
      qk::fuzz::expect_only_qk_errors([&] {
        const auto ids = tokenizer->encode(text, special);
        tokenizer->decode(ids, false);
        tokenizer->decode(ids, true);
      });
    }
  }
  const std::int32_t n = static_cast<std::int32_t>(tokenizer->vocab_size());
  const std::vector<std::int32_t> edge_ids = {0, 1, n - 1, n, n + 1, -1, 2147483647};
  qk::fuzz::expect_only_qk_errors([&] { tokenizer->decode(edge_ids, false); });
  for (auto id : edge_ids) {
    qk::fuzz::expect_only_qk_errors([&] {
      if (auto token = tokenizer->id_to_token(id)) tokenizer->token_to_id(*token);
    });
  }
  return 0;
}
