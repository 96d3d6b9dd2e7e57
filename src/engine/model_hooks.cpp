#include "engine/model_hooks.hpp"

namespace qk::engine {

EditableModel* editable(CausalLM& model) { return dynamic_cast<EditableModel*>(&model); }
ResumableForward* resumable(CausalLM& model) { return dynamic_cast<ResumableForward*>(&model); }

}  // namespace qk::engine
