// Where SFT moved one layer, from the base and SFT weights alone. For a global attention layer, per
// query head h (key head g = its KV group):
//   q_drift, k_drift    ||W_sft - W_base||_F / ||W_base||_F of the head's rows of W_Q / W_K
//   form_drift          ||Q_s^T K_s - Q_b^T K_b||_F / ||Q_b^T K_b||_F: the query-key bilinear form (t = 0)
//   rotation_share      1 - ||O Q_b - Q_s||^2 / ||Q_b - Q_s||^2, O the group's RoPE-commuting Procrustes
//                       rotation (docs/qkpro.md): the part of the drift that QK-Pro keeps (1: all of it)
//   q_angle_*, k_angle_* principal angles (degrees) between the row spaces of base and SFT rows
// and per RoPE frequency band the drift of the rows that band rotates (query and key rows together).
// Linear-attention and other layers get the drift of each of their tensors, for contrast.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "surgery/method.hpp"

namespace qk::diagnose {

struct HeadDrift {
  int head = 0, kv_head = 0;
  double q_drift = 0, k_drift = 0, form_drift = 0, rotation_share = 0;
  double q_angle_mean = 0, q_angle_max = 0, k_angle_mean = 0, k_angle_max = 0;
};

struct Band {
  std::string label;       // "pairs 0-3" or "non-rotary" or "all dims (NoPE)"
  double min_wavelength = 0, max_wavelength = 0;  // tokens (2 pi theta^(2j/r)); 0 for non-rotary
  double drift = 0;        // ||dW||_F / ||W_base||_F over the band's rows of every query and key head
};

struct TensorDrift {
  std::string name;
  double drift = 0;        // ||dW||_F / ||W_base||_F
  double base_norm = 0;
};

struct LayerDrift {
  int layer = -1;
  std::string kind;                // global, linear, sliding, mlp, moe
  std::vector<HeadDrift> heads;    // global layers
  std::vector<Band> bands;         // global layers
  std::vector<TensorDrift> tensors;  // every tensor of the layer (global: the Q/K tensors)
  double drift = 0;                // over all of `tensors`
  std::string note;                // why head metrics are missing, if they are
};

// rope_theta: for the band wavelengths only.
LayerDrift global_layer_drift(std::span<const TensorPair> tensors, const SurgeryPlan& plan, double rope_theta);

// Drift of every tensor in `names` (decoded one at a time).
std::vector<TensorDrift> tensor_drifts(const Checkpoint& base, const Checkpoint& sft, const std::vector<std::string>& names);

}  // namespace qk::diagnose
