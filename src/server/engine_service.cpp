#include "server/engine_service.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace qk::server {

EngineService::EngineService(std::unique_ptr<engine::CausalLM> model, Tokenizer tokenizer, ServiceOptions options)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), options_(options) {
  // End of generation: the model's eos ids and the tokenizer's end-of-turn / end-of-text tokens.
  end_tokens_ = model_->info().eos_token_ids;
  for (const char* name : {"<|im_end|>", "<|endoftext|>"})
    if (auto id = tokenizer_.token_to_id(name)) end_tokens_.push_back(*id);
  std::sort(end_tokens_.begin(), end_tokens_.end());
  end_tokens_.erase(std::unique(end_tokens_.begin(), end_tokens_.end()), end_tokens_.end());
  worker_ = std::thread([this] { work(); });
}

EngineService::~EngineService() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::unique_ptr<EngineService> EngineService::open(const std::filesystem::path& dir, ServiceOptions options) {
  auto model = engine::load_causal_lm(dir);
  if (!std::filesystem::exists(dir / "tokenizer.json"))
    fail(ErrorKind::Io, "{} has no tokenizer.json (the server needs it to turn text into tokens)", dir.string());
  return std::make_unique<EngineService>(std::move(model), Tokenizer::from_file(dir / "tokenizer.json"), options);
}

std::future<TextResult> EngineService::submit(TextRequest request) {
  if (request.prompt.empty()) fail(ErrorKind::Usage, "the prompt is empty");
  for (auto id : request.prompt)
    if (id < 0 || static_cast<std::size_t>(id) >= model_->info().vocab_size)
      fail(ErrorKind::Usage, "token id {} is outside the vocabulary (size {})", id, model_->info().vocab_size);
  Job job{std::move(request), {}};
  auto future = job.promise.get_future();
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return future;
}

TextResult EngineService::finish(const TextRequest& request, const engine::GenerationResult& result) const {
  TextResult out;
  out.tokens = result.tokens;
  out.finish = result.finish;
  out.prompt_tokens = result.prompt_tokens;
  out.text = tokenizer_.decode(out.tokens, /*skip_special_tokens=*/true);
  // Cut at the first stop string; the tokens that produced it are dropped too.
  std::size_t cut = std::string::npos;
  for (const auto& stop : request.stop_strings)
    if (!stop.empty()) cut = std::min(cut, out.text.find(stop));
  if (cut != std::string::npos) {
    out.text.resize(cut);
    out.finish = engine::FinishReason::Stop;
    while (!out.tokens.empty() && tokenizer_.decode(out.tokens, true).size() > cut) out.tokens.pop_back();
  }
  return out;
}

void EngineService::work() {
  for (;;) {
    std::vector<Job> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<engine::GenerationRequest> requests;
    for (auto& job : batch) {
      engine::GenerationRequest r{job.request.prompt, job.request.options};
      r.options.stop_tokens.insert(r.options.stop_tokens.end(), end_tokens_.begin(), end_tokens_.end());
      if (!job.request.stop_strings.empty()) {
        // Stop early once a stop string shows up in the decoded text.
        r.options.stop_when = [this, stops = job.request.stop_strings](const std::vector<std::int32_t>& tokens) {
          const std::string text = tokenizer_.decode(tokens, true);
          return std::any_of(stops.begin(), stops.end(),
                             [&](const std::string& s) { return !s.empty() && text.find(s) != std::string::npos; });
        };
      }
      requests.push_back(std::move(r));
    }
    try {
      engine::GenerationLimits limits;
      limits.max_batch = options_.max_batch;
      limits.prefill_chunk = options_.prefill_chunk;
      const auto results = engine::generate_batch(*model_, requests, limits);
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i].promise.set_value(finish(batch[i].request, results[i]));
    } catch (...) {
      // One bad request must not sink the others: retry them one by one, each failing alone.
      if (batch.size() == 1) {
        batch[0].promise.set_exception(std::current_exception());
        continue;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        try {
          const auto result = engine::generate(*model_, requests[i]);
          batch[i].promise.set_value(finish(batch[i].request, result));
        } catch (...) {
          batch[i].promise.set_exception(std::current_exception());
        }
      }
    }
  }
}

}  // namespace qk::server
