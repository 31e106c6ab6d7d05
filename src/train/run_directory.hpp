// training.dir as a run writes it: made ready (or checked for --resume) before training, then
// checkpoints with their latest/best pointers and pruning, and metrics.jsonl.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bundle/checkpoint.hpp"
#include "bundle/init_model.hpp"
#include "config/config.hpp"
#include "report/tensorboard_events.hpp"
#include "runtime/append_file.hpp"
#include "train/progress.hpp"

namespace nmt {

class RunDirectory {
 public:
  RunDirectory(const Config& config, bool resume, bool overwrite);
  const std::string& path() const { return dir_; }

  // A new run empties the directory (only with --overwrite) and copies in the vocabularies; a
  // resumed one must hold a model of the same task, model section and vocabularies. Either way
  // the config is written last. `init`: the model a fine-tuning run starts from.
  void prepare(const std::optional<InitModel>& init) const;
  // The checkpoint --resume continues from when none is named; nothing before the first one.
  std::optional<std::string> latest_checkpoint() const;
  // Drops the records that an interrupted run wrote after `step`; returns how many.
  int64_t drop_metrics_after(int64_t step) const;
  // Opens metrics.jsonl for appending, and with training.tensorboard a new event file in
  // training.dir/tensorboard for a run that starts after `step` (rank 0 alone writes them).
  void open_metrics(int64_t step);
  void write_metrics(const nlohmann::json& record);
  // Writes the checkpoint of progress.step and the pointers to it, then keeps the newest
  // training.keep_last and the training.keep_best best.
  void write_checkpoint(torch::nn::Module& model, torch::optim::Optimizer& optimizer, const nlohmann::json& meta,
                        const CarriedState& carried, const NamedTensors& live_weights, const Progress& progress);

 private:
  void prune(const Progress& progress) const;

  const Config& config_;
  std::string dir_;
  bool resume_, overwrite_;
  std::unique_ptr<AppendFile> metrics_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

}  // namespace nmt
