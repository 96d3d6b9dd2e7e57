// The NIAH backend that runs the model in-process (`qkrestore niah run --engine embedded --model DIR`):
// the same prompts the OpenAI client would send to /v1/completions (input + answer prefix, greedy),
// answered by an EngineService without any server.
#pragma once
#include <filesystem>
#include <memory>

#include "niah/backend.hpp"
#include "server/engine_service.hpp"

namespace qk::server {

std::unique_ptr<niah::Backend> make_embedded_backend(std::shared_ptr<EngineService> service, std::string label);
std::unique_ptr<niah::Backend> make_embedded_backend(const std::filesystem::path& model_dir,
                                                     ServiceOptions options = {});

}  // namespace qk::server
