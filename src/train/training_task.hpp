// What the trainer needs from a task (translation, stream LM, sentence LM): its model, its
// batches in a reproducible order, the loss of one batch, and validation. The trainer owns the
// rest: optimizer, schedule, logging, checkpoints, resume, signals.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bundle/checkpoint.hpp"
#include "config/config.hpp"
#include "data/batch.hpp"
#include "data/bucket_sampler.hpp"

namespace nmt {

struct BatchLoss {
  torch::Tensor sum;   // summed token cross-entropy (label-smoothed when asked)
  int64_t tokens = 0;  // prediction targets in the batch
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  virtual torch::nn::Module& module() = 0;
  virtual std::string describe() const = 0;  // one line for the log
  // Plans `epoch` (a function of the seed and epoch only) and returns its number of batches.
  // State carried across batches starts afresh here.
  virtual int64_t start_epoch(int64_t epoch) = 0;
  // Batch `position` of the epoch as one cost (its tokens) per example, in the order that the
  // shards of data-parallel ranks and micro-batches are cut from: contiguous, length-sorted.
  virtual std::vector<int64_t> example_costs(int64_t position) const = 0;
  // Examples [begin, end) of batch `position`, collated on the device.
  virtual Batch examples(int64_t position, size_t begin, size_t end) = 0;
  virtual BatchLoss loss(const Batch& batch, double teacher_forcing) = 0;
  // Held-out metrics: loss and ppl always, plus the task's own (bleu/chrf, bpc).
  virtual nlohmann::json validate() = 0;
  // State carried from batch to batch (a stream LM's hidden state); saved in checkpoints.
  virtual CarriedState carried_state() const { return {}; }
  virtual void restore_carried_state(const CarriedState& /*state*/) {}
};

// Builds the task of `config.task`, its model initialised from the current torch seed.
// `model_dir` holds the vocabularies and tokenizer models; data comes from config.data.dir.
std::unique_ptr<TrainingTask> make_training_task(const Config& config, const std::string& model_dir,
                                                 const torch::Device& device);

BucketOptions bucket_options(const TrainingConfig& training);
// Indices [begin, end) of a batch of examples.
std::vector<int64_t> slice_of(const std::vector<int64_t>& batch, size_t begin, size_t end);
// The line logged at the start of an epoch of sentence batches.
void log_epoch_batches(int64_t epoch, const BucketSampler& sampler, const std::vector<std::vector<int64_t>>& batches);

}  // namespace nmt
