#include "engine_service/engine_service.hpp"

#include <algorithm>

#include "engine_service/text_assembler.hpp"
#include "util/utf8.hpp"
#include "util/error.hpp"

namespace qk::engine_service {

struct EngineService::Job {
  engine::GenerationRequest generation;
  std::vector<std::string> stop_strings;
  std::function<void(StreamPiece)> on_piece;
  std::shared_ptr<std::atomic<bool>> cancelled;
  std::promise<TextResult> promise;
  std::optional<TextAssembler> text;
  TextResult result;  // text accumulates piece by piece
  bool done = false;

  bool is_cancelled() const { return cancelled && cancelled->load(); }

  // The next piece of text (everything left when final), added to the result and handed to on_piece.
  void emit(const engine::GenerationResult& generated, bool final) {
    TextPiece piece = text->take(final);
    if (piece.text.empty() && piece.first_token == piece.end_token && !final) return;
    StreamPiece out;
    out.text = piece.text;
    for (std::size_t i = piece.first_token; i < piece.end_token; ++i) {
      out.tokens.push_back(generated.tokens[i]);
      if (generation.options.logprobs) {
        out.logprobs.push_back(generated.logprobs[i]);
        out.token_offsets.push_back(utf8_length(std::string_view(text->raw_text()).substr(0, text->token_start(i))));
      }
    }
    result.text += out.text;
    result.tokens.insert(result.tokens.end(), out.tokens.begin(), out.tokens.end());
    result.logprobs.insert(result.logprobs.end(), out.logprobs.begin(), out.logprobs.end());
    result.token_offsets.insert(result.token_offsets.end(), out.token_offsets.begin(), out.token_offsets.end());
    if (final) {
      result.finish = text->stopped() ? engine::FinishReason::Stop : generated.finish;
      result.prompt_tokens = generated.prompt_tokens;
      result.cancelled = is_cancelled();
      out.last = true;
      out.finish = result.finish;
    }
    if (on_piece) on_piece(std::move(out));
  }

  void fail(std::exception_ptr error, const std::string& message) {
    if (done) return;
    done = true;
    if (on_piece) {
      StreamPiece out;
      out.last = true;
      out.error = message;
      on_piece(std::move(out));
    }
    promise.set_exception(error);
  }
};

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
  auto job = std::make_shared<Job>();
  job->generation = {std::move(request.prompt), std::move(request.options)};
  engine::validate_request(job->generation);  // bad options fail here, alone, not in the middle of a batch
  auto& o = job->generation.options;
  if (!request.ignore_eos) o.stop_tokens.insert(o.stop_tokens.end(), end_tokens_.begin(), end_tokens_.end());
  job->stop_strings = std::move(request.stop_strings);
  job->on_piece = std::move(request.on_piece);
  job->cancelled = std::move(request.cancelled);
  job->text.emplace(tokenizer_, job->stop_strings);
  // The engine thread reports each token and the end through these; the job outlives its decoding.
  Job* j = job.get();
  o.on_token = [this, j](const engine::GenerationResult& generated) {
    ++tokens_;
    if (j->is_cancelled()) return true;
    const bool stop = j->text->update(generated.tokens);
    if (j->on_piece && !stop) j->emit(generated, false);
    return stop;
  };
  o.on_finish = [this, j](const engine::GenerationResult& generated) {
    cancelled_ += j->is_cancelled();
    ++finished_;
    j->emit(generated, true);
    j->done = true;
    j->promise.set_value(std::move(j->result));
  };
  auto future = job->promise.get_future();
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return future;
}

void EngineService::work() {
  engine::GenerationLimits limits;
  limits.max_batch = options_.max_batch;
  limits.prefill_chunk = options_.prefill_chunk;
  // The jobs being decoded. Only this thread touches it; a finished job is dropped at the next admission,
  // not inside its own on_finish (which is running from the job).
  std::vector<std::shared_ptr<Job>> running;
  // Continuous batching: whenever a place is free, queued requests join the sequences being decoded.
  auto admit = [&](std::size_t free) {
    std::erase_if(running, [](const std::shared_ptr<Job>& job) { return job->done; });
    std::vector<const engine::GenerationRequest*> admitted;
    std::lock_guard lock(mutex_);
    while (!queue_.empty() && admitted.size() < free) {
      auto job = std::move(queue_.front());
      queue_.pop_front();
      if (job->is_cancelled()) {  // its client left while it waited: never prefilled
        engine::GenerationResult nothing;
        nothing.finish = engine::FinishReason::Stop;
        nothing.prompt_tokens = job->generation.prompt.size();
        job->generation.options.on_finish(nothing);
        continue;
      }
      admitted.push_back(&job->generation);
      running.push_back(std::move(job));
    }
    return admitted;
  };
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
    }
    try {
      engine::generate_continuous(*model_, admit, limits);
    } catch (const std::exception& e) {
      // Requests are validated on submit, so this is the engine failing (memory, a bug): every request
      // being decoded gets the error.
      for (auto& job : running) job->fail(std::current_exception(), e.what());
    } catch (...) {
      for (auto& job : running) job->fail(std::current_exception(), "unknown error");
    }
    running.clear();
  }
}

}  // namespace qk::engine_service
