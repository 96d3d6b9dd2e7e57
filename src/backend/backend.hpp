// A backend turns prompts into completions: the one way every task asks a model (niah run, eval run,
// sweep). The runner (resumable_run.hpp) knows only this interface; the OpenAI-HTTP client
// (openai_backend.hpp) and the embedded engine (embedded_backend.hpp) implement it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qk::backend {

struct ChatTurn {
  std::string role;  // user | assistant
  std::string content;
};

struct Prompt {
  std::string input;          // the task text (with the model template, for raw completion)
  std::string answer_prefix;  // RULER's answer prefix, continued by the model
  int max_tokens = 128;       // at most this many new tokens
  // {}: a Prompt{input, prefix, max_tokens} leaves these to their defaults, which -Wmissing-field-initializers
  // accepts only for members that have one
  std::vector<ChatTurn> examples{};  // chat API only: k-shot turns sent before `input` (raw prompts hold them already)
  std::vector<std::string> stop{};   // generation ends before the first of these strings
  double temperature = 0;          // 0: greedy
  std::int64_t seed = -1;          // sampling seed sent with the request; -1: none
};

struct Completion {
  std::string text;
  std::string finish_reason;  // as the backend reports it ("length", "stop", ...), may be empty
  int prompt_tokens = -1;     // -1 when unknown
  int completion_tokens = -1;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // One completion per prompt, in order; thread-safe (the runner calls it from several threads).
  // Throws qk::Error(Network) when it cannot produce them; the runner then stops cleanly.
  virtual std::vector<Completion> generate(const std::vector<Prompt>& prompts) = 0;
  virtual int preferred_batch() const { return 1; }  // prompts per call the backend handles best
  virtual std::string describe() const = 0;
};

}  // namespace qk::backend
