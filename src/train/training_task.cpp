#include "train/training_task.hpp"

#include <spdlog/spdlog.h>

#include "train/lm_task.hpp"
#include "train/nmt_task.hpp"

namespace nmt {

std::unique_ptr<TrainingTask> make_training_task(const Config& config, const std::string& model_dir,
                                                 const torch::Device& device) {
  return config.task == "lm" ? make_lm_task(config, model_dir, device) : make_nmt_task(config, model_dir, device);
}

BucketOptions bucket_options(const TrainingConfig& training) {
  BucketOptions options;
  options.batch_size = training.batch_size;
  options.batch_tokens = training.batch_tokens;
  options.seed = static_cast<uint64_t>(training.seed);
  return options;
}

std::vector<int64_t> slice_of(const std::vector<int64_t>& batch, size_t begin, size_t end) {
  return {batch.begin() + static_cast<std::ptrdiff_t>(begin), batch.begin() + static_cast<std::ptrdiff_t>(end)};
}

void log_epoch_batches(int64_t epoch, const BucketSampler& sampler, const std::vector<std::vector<int64_t>>& batches) {
  spdlog::info("epoch {}: {} batches, padding {:.1f}%", epoch + 1, batches.size(), 100 * sampler.padding_fraction(batches));
}

}  // namespace nmt
