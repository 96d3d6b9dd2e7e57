// The tiny engine checkpoints under testdata/engine that tests load (made by transformers:
// tools/refgen/engine/make_reference.py).
#pragma once
#include <filesystem>

#include "support/temp_dir.hpp"

namespace qk::test {

// Dense layers, tied embeddings: the smallest model the engine, the server and the CLI tests run.
inline std::filesystem::path tiny_engine_model() { return source_dir() / "testdata" / "engine" / "dense_tied"; }

}  // namespace qk::test
