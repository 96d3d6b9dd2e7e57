// In-memory surgery on a model loaded in the embedded engine: apply a candidate repair (restore,
// blend or QK-Pro on chosen layers / KV groups / query heads) to the SFT weights the engine holds,
// evaluate, undo, apply the next one. No checkpoint is written.
//
// The rows written are exactly those `qkrestore <method> ... --out DIR` would write: the same plan
// (make_plan with the same Selection), the same method code (SurgeryMethod::compute_layer on the
// mapped base/SFT tensors), rounded to SFT's dtype; so the engine computes what it would after
// loading DIR (tests/heads/candidate_test.cpp checks logits bit for bit). Only the planned rows are
// touched (Q/K rows, or any class of --take: MLPs, norms, embeddings, linear attention, with blend
// weights), and undo puts back SFT's values bit for bit.
//
//   Checkpoint base(base_dir), sft(sft_dir);
//   auto model = engine::load_causal_lm(sft_dir);          // the SFT model
//   heads::InMemorySurgery surgery(*model, base, sft, table);
//   RepairSpec c;                                           // default: restore of the global layers
//   c.selection.heads = HeadSpec::parse("3:0");             // --heads 3:0
//   surgery.apply(c);   ... evaluate *model ...
//   c.method = MethodSpec::defaults(MethodKind::Blend);     // blend, alpha 0.5
//   surgery.apply(c);                                       // undoes the previous candidate first
//   surgery.undo();                                         // SFT again (also done by the destructor)
//
// Behind an engine_service::EngineService (the embedded backend): keep a raw pointer to the model
// before handing it over (`auto* raw = model.get(); EngineService service(std::move(model), tokenizer);`)
// and call apply/undo only while no request is queued or running; the next submit() takes the
// service's mutex, so the engine thread sees the new weights.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "arch/profile.hpp"
#include "engine/causal_lm.hpp"
#include "engine/model_hooks.hpp"
#include "io/checkpoint.hpp"
#include "surgery/method.hpp"
#include "surgery/plan.hpp"
#include "surgery/repair_spec.hpp"

namespace qk::heads {

class InMemorySurgery {
 public:
  // `model` must hold the weights of `sft` (engine::load_causal_lm(sft.dir())). base, sft and model
  // must outlive this object. `table` plans the candidates: the user's (--arch-file) where given, never
  // silently the built-in one. Error(Unsupported) later if the model does not expose a planned tensor.
  InMemorySurgery(engine::CausalLM& model, const Checkpoint& base, const Checkpoint& sft, FamilyTable table);
  ~InMemorySurgery();
  InMemorySurgery(const InMemorySurgery&) = delete;
  InMemorySurgery& operator=(const InMemorySurgery&) = delete;

  // Undoes the current candidate, then writes this one's planned rows into the model. Returns its
  // plan (valid until the next apply). On an error the model holds SFT's weights.
  const SurgeryPlan& apply(const RepairSpec& candidate);
  void undo();  // back to SFT's weights, bit for bit
  std::size_t floats_written() const { return floats_written_; }  // by the current candidate

 private:
  struct Saved {
    std::string name;
    std::span<float> tensor;
    std::size_t offset = 0;
    std::vector<float> values;
  };
  engine::CausalLM& model_;
  engine::EditableModel* editable_;  // the model side heads writes; nullptr: it holds no tensor as stored
  const Checkpoint& base_;
  const Checkpoint& sft_;
  FamilyTable table_;
  std::unique_ptr<SurgeryPlan> plan_;
  std::vector<Saved> saved_;
  std::size_t floats_written_ = 0;
};

}  // namespace qk::heads
