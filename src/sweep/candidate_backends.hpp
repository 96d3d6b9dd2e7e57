// Where `sweep` gets a model that answers as each candidate would.
//  - In process (EmbeddedCandidates): the SFT model loaded once in the embedded engine; each candidate's
//    rows are written into it in memory (heads/candidate.hpp) and undone before the next. No checkpoint.
//    The prompts' prefill below a candidate's first changed layer is taken from SFT's (engine/prefill_reuse.hpp).
//  - The user's own server (ServedCandidates): the candidate checkpoint written to a scratch folder (a
//    reverse one is base's files with SFT's rows),
//    the server started from a command template (`vllm serve {model} --port {port}`), waited for on
//    GET /v1/models, used through the OpenAI client, stopped (its process group), the scratch removed.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "arch/profile.hpp"
#include "io/checkpoint.hpp"
#include "backend/backend.hpp"
#include "backend/openai_backend.hpp"
#include "sweep/candidate_set.hpp"

namespace qk::sweep {

// The two ways to reach a candidate: raw completions (NIAH task files hold their template already) and
// chat, where the server applies the model's chat template; `chat` is null for raw-only backends (the
// embedded engine), which get the template rendered by the caller (backend::question_template).
struct Answerers {
  backend::Backend* raw = nullptr;
  backend::Backend* chat = nullptr;
};

class CandidateBackends {
 public:
  virtual ~CandidateBackends() = default;
  // Makes `candidate` the model that answers; valid until the next call or release().
  virtual Answerers start(const Candidate& candidate, const std::filesystem::path& candidate_dir) = 0;
  virtual void release() = 0;  // stop what start() began (a server, a scratch checkpoint)
  // What the backend did to save time (printed after the sweep), or empty.
  virtual std::string savings() const { return ""; }
};

struct EmbeddedOptions {
  bool prefill_reuse = true;                        // off: every candidate prefills every prompt in full
  std::size_t reuse_budget_bytes = std::size_t{1} << 30;  // memory the reused prefill may hold, per model
  std::vector<std::size_t> levels;  // layers candidates may start to differ at (empty: the global layers)
  // Base's run as it is records its prefill only for reverse candidates (locate's second view) to resume
  // from; sweep has none, and the record would hold up to the budget for nothing.
  bool record_base = false;
};

// `table` plans every candidate (the user's --arch-file table where given).
std::unique_ptr<CandidateBackends> make_embedded_candidates(const std::filesystem::path& base_dir,
                                                            const std::filesystem::path& sft_dir, const FamilyTable& table,
                                                            EmbeddedOptions options = {});

struct ServeOptions {
  std::string command;            // holds {model} and {port}
  std::filesystem::path scratch;  // candidate checkpoints are written under it, one at a time
  double ready_timeout_s = 600;   // how long a server may take to answer GET /v1/models
  int retries = 5;
  double request_timeout_s = 600;
};

std::unique_ptr<CandidateBackends> make_served_candidates(const std::filesystem::path& base_dir,
                                                          const std::filesystem::path& sft_dir, const FamilyTable& table,
                                                          ServeOptions options);

}  // namespace qk::sweep
