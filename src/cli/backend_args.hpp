// The options that pick and tune a backend, shared by `niah run` and `eval run`: an OpenAI-compatible
// server (--server, --model, --api, retries, timeouts) or the embedded engine (--engine embedded
// --model DIR).
#pragma once
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "backend/backend.hpp"

namespace qk::cli {

struct BackendArgs {
  std::string server = "http://127.0.0.1:8000", model, api = "completions", chat_prefix = "assistant",
              api_key_env = "OPENAI_API_KEY", engine = "openai";
  int jobs = 4, retries = 5;
  double timeout = 600, connect_timeout = 10, backoff = 1.0;
  bool embedded() const { return engine == "embedded"; }
};

void add_backend_options(CLI::App& app, BackendArgs& args);
std::unique_ptr<backend::Backend> make_backend(const BackendArgs& args);

}  // namespace qk::cli
