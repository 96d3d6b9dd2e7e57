// The backend that runs the model in-process (`niah run` / `eval run --engine embedded --model DIR`,
// `sweep`): the same prompts the OpenAI client would send to /v1/completions (input + answer prefix),
// answered by an EngineService (src/engine_service) without any server.
#pragma once
#include <filesystem>
#include <memory>

#include "backend/backend.hpp"
#include "engine_service/engine_service.hpp"

namespace qk::backend {

std::unique_ptr<Backend> make_embedded_backend(std::shared_ptr<engine_service::EngineService> service, std::string label);
std::unique_ptr<Backend> make_embedded_backend(const std::filesystem::path& model_dir,
                                               engine_service::ServiceOptions options = {});

}  // namespace qk::backend
