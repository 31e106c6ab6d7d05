// The checkpoint file format: model, optimizer, training metadata and RNG state, written
// atomically, with the identity checks that keep a checkpoint to the model it belongs to.
#pragma once
#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace nmt {

// Tensors by archive entry name (no dots).
using NamedTensors = std::map<std::string, torch::Tensor>;
// Tensors training carries between steps besides the parameters (a stream LM's hidden state).
using CarriedState = NamedTensors;

struct CheckpointContent {
  nlohmann::json meta;  // step, epoch, position, lr, best metric, model config, vocab hashes...
  torch::Tensor rng_state;
  CarriedState carried;
  // With parameter averaging, "model" holds the average (what decoding uses) and these the live
  // weights training continues from; empty otherwise.
  NamedTensors training_weights;
};

// Writes to a temporary file, fsyncs and renames: a crash leaves the previous file intact.
void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const nlohmann::json& meta, const CarriedState& carried = {},
                     const NamedTensors& training_weights = {});
// Loads parameters (and optimizer state when given). Refuses a checkpoint whose model config or
// vocabularies differ from `expected_meta`'s, naming what differs. Corrupt files give a clear error.
CheckpointContent load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                                  const nlohmann::json& expected_meta);
void restore_cpu_rng_state(const torch::Tensor& state);
// Only the metadata (no model needed).
nlohmann::json read_checkpoint_meta(const std::string& path);

}  // namespace nmt
