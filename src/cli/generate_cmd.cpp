// `qkrestore generate`: one prompt through the embedded CPU engine, for a quick look at a model. Parsing only.
#include <chrono>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "backend/chat_template.hpp"
#include "engine_service/engine_service.hpp"

namespace qk::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt;
  bool chat = false;
  std::size_t max_tokens = 64;
  float temperature = 0.0f, top_p = 1.0f;
  std::size_t top_k = 0;
  std::uint64_t seed = 0;
};

int run_generate(const GenerateArgs& args) {
  auto service = engine_service::EngineService::open(args.model);
  const std::string text =
      args.chat ? backend::ChatTemplate::from_model_dir(args.model)
                      .render(nlohmann::ordered_json::array({{{"role", "user"}, {"content", args.prompt}}}), true)
                : args.prompt;
  engine_service::TextRequest request;
  request.prompt = service->tokenizer().encode(text, true);
  request.options.max_tokens = args.max_tokens;
  request.options.temperature = args.temperature;
  request.options.top_p = args.top_p;
  request.options.top_k = args.top_k;
  request.options.seed = args.seed;
  const auto start = std::chrono::steady_clock::now();
  const engine_service::TextResult result = service->run(std::move(request));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{}\n", result.text);
  fmt::print(stderr, "[{} prompt tokens, {} generated, finish: {}, {:.2f} s]\n", result.prompt_tokens,
             result.tokens.size(), engine::finish_reason_name(result.finish), seconds);
  return kExitOk;
}

}  // namespace

Action setup_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  app.add_option("--model", args->model, "Hugging Face model directory")->required();
  app.add_option("--prompt", args->prompt, "prompt text")->required();
  app.add_flag("--chat", args->chat, "wrap the prompt as one user turn with the model's chat template");
  app.add_option("--max-tokens", args->max_tokens, "tokens to generate at most")->capture_default_str();
  app.add_option("--temperature", args->temperature, "0 = greedy")->capture_default_str();
  app.add_option("--top-p", args->top_p, "nucleus sampling mass")->capture_default_str();
  app.add_option("--top-k", args->top_k, "sample among the k most likely tokens (0: all)")->capture_default_str();
  app.add_option("--seed", args->seed, "sampling seed")->capture_default_str();
  return [args] { return run_generate(*args); };
}

}  // namespace qk::cli
