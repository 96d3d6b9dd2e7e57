#include "backend/embedded_backend.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace qk::backend {
namespace {

class EmbeddedBackend final : public Backend {
 public:
  EmbeddedBackend(std::shared_ptr<engine_service::EngineService> service, std::string label, std::size_t batch)
      : service_(std::move(service)), label_(std::move(label)), batch_(batch) {}

  std::vector<Completion> generate(const std::vector<Prompt>& prompts) override {
    // Submit all first so the engine thread can decode them as one batch, then collect in order.
    std::vector<std::future<engine_service::TextResult>> pending;
    for (const auto& p : prompts) {
      if (!p.examples.empty())
        fail(ErrorKind::Unsupported, "the embedded engine takes raw prompts: render k-shot chat turns into the prompt first");
      engine_service::TextRequest request;
      request.prompt = service_->tokenizer().encode(p.input + p.answer_prefix, true);
      request.options.max_tokens = static_cast<std::size_t>(std::max(0, p.max_tokens));
      request.options.temperature = static_cast<float>(p.temperature);  // 0 (greedy) unless eval samples
      if (p.seed >= 0) request.options.seed = static_cast<std::uint64_t>(p.seed);
      request.stop_strings = p.stop;
      pending.push_back(service_->submit(std::move(request)));
    }
    std::vector<Completion> out;
    for (auto& f : pending) {
      const engine_service::TextResult r = f.get();
      out.push_back({r.text, engine::finish_reason_name(r.finish), static_cast<int>(r.prompt_tokens),
                     static_cast<int>(r.tokens.size())});
    }
    return out;
  }
  int preferred_batch() const override { return static_cast<int>(batch_); }
  std::string describe() const override { return "embedded engine, model " + label_; }

 private:
  std::shared_ptr<engine_service::EngineService> service_;
  std::string label_;
  std::size_t batch_;
};

}  // namespace

std::unique_ptr<Backend> make_embedded_backend(std::shared_ptr<engine_service::EngineService> service, std::string label) {
  return std::make_unique<EmbeddedBackend>(std::move(service), std::move(label), 8);
}

std::unique_ptr<Backend> make_embedded_backend(const std::filesystem::path& model_dir, engine_service::ServiceOptions options) {
  std::shared_ptr<engine_service::EngineService> service = engine_service::EngineService::open(model_dir, options);
  auto backend = std::make_unique<EmbeddedBackend>(service, model_dir.string(), options.max_batch);
  return backend;
}

}  // namespace qk::backend
