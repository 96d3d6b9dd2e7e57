#include "heads/candidate.hpp"

#include <fmt/format.h>

#include "io/dtype.hpp"
#include "surgery/output.hpp"
#include "util/error.hpp"

namespace qk::heads {

InMemorySurgery::InMemorySurgery(engine::CausalLM& model, const Checkpoint& base, const Checkpoint& sft, FamilyTable table)
    : model_(model), editable_(engine::editable(model)), base_(base), sft_(sft), table_(std::move(table)) {}

InMemorySurgery::~InMemorySurgery() { undo(); }

void InMemorySurgery::undo() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) std::copy(it->values.begin(), it->values.end(), it->tensor.begin() + it->offset);
  for (const auto& s : saved_) editable_->tensor_written(s.name);  // saved_: only what was written through it
  saved_.clear();
  floats_written_ = 0;
  plan_.reset();
}

const SurgeryPlan& InMemorySurgery::apply(const RepairSpec& candidate) {
  undo();
  auto method = candidate.make_method();
  auto plan = std::make_unique<SurgeryPlan>(make_plan(base_, sft_, candidate.selection, table_));
  // Everything computed and checked before the first float is written: an error leaves SFT's weights.
  struct Write {
    std::string name;
    std::span<float> tensor;
    std::size_t offset;
    std::vector<float> values;
  };
  std::vector<Write> writes;
  for (const auto& group : layer_groups(*plan)) {
    std::vector<TensorPair> pairs;
    for (const auto* t : group) pairs.push_back({t, base_.at(t->name), sft_.at(t->name)});
    const auto outputs = method->compute_layer(pairs, *plan);
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      const PlannedTensor& t = *pairs[k].plan;
      const TensorInfo& info = *pairs[k].sft.info;
      std::span<float> held = editable_ ? editable_->mutable_tensor(t.name) : std::span<float>{};
      if (held.empty())
        fail(ErrorKind::Unsupported, "in-memory surgery: the engine's {} model does not hold tensor '{}' as the checkpoint stores it "
             "(e.g. experts stored fused, or a family whose engine keeps it transformed); write the candidate with `{}` instead",
             model_.info().model_type, t.name, candidate.command(base_.dir().string(), sft_.dir().string(), "OUT"));
      if (held.size() != info.element_count())
        fail(ErrorKind::Mismatch, "in-memory surgery: tensor '{}' has {} elements in the engine but {} in {}: was the model loaded from SFT?",
             t.name, held.size(), info.element_count(), sft_.dir().string());
      const std::size_t row_elements = info.element_count() / std::max<std::int64_t>(info.rows(), 1);
      const std::size_t width = dtype_size(info.dtype);
      std::vector<RowRange> rows = t.rows;
      if (rows.empty()) rows.push_back({0, t.total_rows});
      for (const auto& r : rows) {
        const std::size_t offset = r.begin * row_elements, count = (r.end - r.begin) * row_elements;
        std::vector<float> values(count);
        decode_to_f32(info.dtype, std::span<const std::byte>(outputs[k]).subspan(offset * width, count * width), values);
        writes.push_back({t.name, held, offset, std::move(values)});
      }
    }
  }
  for (auto& w : writes) {
    saved_.push_back({w.name, w.tensor, w.offset, std::vector<float>(w.tensor.begin() + w.offset, w.tensor.begin() + w.offset + w.values.size())});
    std::copy(w.values.begin(), w.values.end(), w.tensor.begin() + w.offset);
    floats_written_ += w.values.size();
  }
  for (const auto& w : writes) editable_->tensor_written(w.name);
  plan_ = std::move(plan);
  return *plan_;
}

}  // namespace qk::heads
