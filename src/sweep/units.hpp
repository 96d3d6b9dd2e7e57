// Repairs made of class units (`--take CLASS@LAYERS[:GROUPS][:WEIGHT]`, surgery/repair_spec.hpp): the
// candidates `locate` measures (one unit, in either view) and those the search composes (its start plus
// units at weights), and the classes a checkpoint pair holds, per layer.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "arch/profile.hpp"
#include "io/checkpoint.hpp"
#include "sweep/candidate_set.hpp"
#include "sweep/search.hpp"

namespace qk::sweep {

// A class a repair can take from base, and the layers of this model that hold it (none: outside the
// layer stack, as the embeddings).
struct TensorClass {
  std::string name;
  std::optional<std::vector<int>> layers;  // ascending
};

// The classes among `names` that this pair holds (the others are left out), with their layers.
std::vector<TensorClass> tensor_classes(const Checkpoint& base, const Checkpoint& sft, const FamilyTable& table,
                                        const std::vector<std::string>& names);
// Every class name the table knows for `--take`: the groups first (attn, linear, mlp ...), then the leaves.
std::vector<std::string> class_names(const FamilyTable& table);

// restore --take UNIT: the unit (e.g. "mlp@0-2") whole from the other model.
RepairSpec unit_repair(const std::string& unit);
// `start` with the moves added as --take items (unit:weight), named `name`.
Candidate with_moves(const Candidate& start, const std::vector<Move>& moves, const std::string& name);

}  // namespace qk::sweep
