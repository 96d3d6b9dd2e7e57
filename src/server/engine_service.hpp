// The model behind the server and the embedded NIAH backend: one engine thread owns the model and works
// through a queue, taking up to max_batch waiting requests at a time and decoding them together.
// Callers on any thread submit text or token requests and wait for their result.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/causal_lm.hpp"
#include "engine/generate.hpp"
#include "tokenizer/tokenizer.hpp"

namespace qk::server {

struct TextRequest {
  std::vector<std::int32_t> prompt;       // already tokenized
  engine::SamplingOptions options;        // stop_tokens are added to the model's own end tokens
  std::vector<std::string> stop_strings;  // generation ends before the first of these appears
};

struct TextResult {
  std::string text;
  std::vector<std::int32_t> tokens;
  engine::FinishReason finish = engine::FinishReason::Length;
  std::size_t prompt_tokens = 0;
};

struct ServiceOptions {
  std::size_t max_batch = 8;
  std::size_t prefill_chunk = 1024;
};

class EngineService {
 public:
  EngineService(std::unique_ptr<engine::CausalLM> model, Tokenizer tokenizer, ServiceOptions options = {});
  ~EngineService();  // finishes the requests already queued, then stops the engine thread
  EngineService(const EngineService&) = delete;
  EngineService& operator=(const EngineService&) = delete;

  // Loads the model and tokenizer.json of a Hugging Face directory.
  static std::unique_ptr<EngineService> open(const std::filesystem::path& dir, ServiceOptions options = {});

  std::future<TextResult> submit(TextRequest request);
  TextResult run(TextRequest request) { return submit(std::move(request)).get(); }

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const engine::ModelInfo& info() const { return model_->info(); }
  const std::vector<std::int32_t>& end_tokens() const { return end_tokens_; }

 private:
  struct Job {
    TextRequest request;
    std::promise<TextResult> promise;
  };
  void work();
  TextResult finish(const TextRequest& request, const engine::GenerationResult& result) const;

  std::unique_ptr<engine::CausalLM> model_;
  Tokenizer tokenizer_;
  ServiceOptions options_;
  std::vector<std::int32_t> end_tokens_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace qk::server
