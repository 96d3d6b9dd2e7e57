#include "sweep/units.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "arch/tensor_classes.hpp"
#include "surgery/plan.hpp"
#include "util/error.hpp"

namespace qk::sweep {

std::vector<std::string> class_names(const FamilyTable&) {
  const TensorClasses& classes = TensorClasses::builtin();
  std::vector<std::string> names = classes.groups();
  for (const auto& leaf : classes.leaves()) names.push_back(leaf);
  return names;
}

std::vector<TensorClass> tensor_classes(const Checkpoint& base, const Checkpoint& sft, const FamilyTable& table,
                                        const std::vector<std::string>& names) {
  const TensorClasses& vocabulary = TensorClasses::builtin();
  std::vector<TensorClass> out;
  for (const auto& name : names) {
    if (vocabulary.expand(name).empty())
      fail(ErrorKind::Usage, "--classes: '{}' is not a tensor class (choices: {})", name, vocabulary.choices());
    const bool per_layer = vocabulary.per_layer(name);
    Selection every;
    every.take.push_back(TakeItem::parse(per_layer ? name + "@*" : name, "--classes"));
    SurgeryPlan plan;
    try {
      plan = make_plan(base, sft, every, table);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Usage) continue;  // the model holds no tensor of this class
      throw;
    }
    TensorClass c{name, std::nullopt};
    if (per_layer) {
      std::set<int> layers;
      for (const auto& t : plan.tensors)
        if (t.layer >= 0) layers.insert(t.layer);
      if (layers.empty()) continue;
      c.layers = std::vector<int>(layers.begin(), layers.end());
    } else if (plan.tensors.empty()) {
      continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

RepairSpec unit_repair(const std::string& unit) {
  RepairSpec spec;
  spec.selection.take = parse_take(unit, "locate unit");
  return spec;
}

Candidate with_moves(const Candidate& start, const std::vector<Move>& moves, const std::string& name) {
  Candidate c = start;
  c.name = name;
  for (const auto& m : moves) {
    TakeItem item = TakeItem::parse(m.unit, "search unit");
    item.weight = m.weight;
    c.spec.selection.take.push_back(std::move(item));
  }
  return c;
}

}  // namespace qk::sweep
