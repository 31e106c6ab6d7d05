#include "train/run_directory.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "bundle/metrics_log.hpp"
#include "bundle/model_dir.hpp"
#include "config/setting_changes.hpp"
#include "data/data_dir.hpp"
#include "runtime/files.hpp"

namespace fs = std::filesystem;

namespace nmt {

RunDirectory::RunDirectory(const Config& config, bool resume, bool overwrite)
    : config_(config), dir_(config.training.dir), resume_(resume), overwrite_(overwrite) {}

void RunDirectory::prepare(const std::optional<InitModel>& init) const {
  const std::string data_dir = config_.data.dir;
  if (!fs::exists(data_dir + "/manifest.json"))
    throw std::runtime_error("data.dir '" + data_dir + "' has no manifest.json: run 'nmt preprocess' first");
  const bool non_empty = fs::exists(dir_) && !fs::is_empty(dir_);
  if (resume_ && !fs::exists(model_config_path(dir_)))
    throw std::runtime_error("--resume: nothing to resume in training.dir '" + dir_ + "' (" +
                             (non_empty ? "it holds no config.yaml" : fs::exists(dir_) ? "it is empty" : "it does not exist") +
                             "): start the run without --resume" + (non_empty ? " and with --overwrite" : ""));
  if (non_empty && !resume_) {
    if (!overwrite_)
      throw std::runtime_error("training.dir '" + dir_ + "' is not empty: pass --resume to continue or --overwrite to start over");
    fs::remove_all(dir_);
  }
  fs::create_directories(checkpoint_dir(dir_));
  if (resume_) {
    // Vocabularies stay those of the original run; a changed data.dir is detected by hash below.
    const auto previous = load_config(model_config_path(dir_));
    if (const auto keys = differing_settings(previous, config_, "model"); !keys.empty()) {
      std::string lines;
      for (const auto& key : keys) lines += "\n  " + key;
      throw std::runtime_error("cannot resume: the model section differs from the one in '" + model_config_path(dir_) +
                               "' (was vs now):" + lines);
    }
    if (previous.task != config_.task)
      throw std::runtime_error("cannot resume: '" + dir_ + "' holds a task '" + previous.task + "' model, the config says '" +
                               config_.task + "'");
    if (const auto side = differing_vocabulary(config_, data_dir, dir_))
      throw std::runtime_error("cannot resume: the " + *side + " vocabulary in '" + data_dir +
                               "' differs from the one this model was trained with");
    for (const auto& change : changed_settings(dump_config(previous), dump_config(config_)))
      spdlog::info("resuming with a changed setting in {} '{}' (was '{}')", change.section, change.after, change.before);
  } else {
    if (init)
      if (const auto side = differing_vocabulary(config_, data_dir, init->dir))
        throw std::runtime_error("training.init_from: the " + *side + " vocabulary in data.dir '" + data_dir +
                                 "' is not the one of '" + init->dir + "': run 'nmt preprocess' with this config, "
                                 "which encodes the data with the trained model's vocabularies");
    copy_vocabulary_files(config_, data_dir, dir_);
  }
  write_text_atomically(model_config_path(dir_), dump_config(config_));
}

std::optional<std::string> RunDirectory::latest_checkpoint() const { return read_pointer(dir_, "latest"); }

int64_t RunDirectory::drop_metrics_after(int64_t step) const { return nmt::drop_metrics_after(metrics_path(dir_), step); }

void RunDirectory::open_metrics(int64_t step) {
  metrics_ = std::make_unique<AppendFile>(metrics_path(dir_));
  if (config_.training.tensorboard) tensorboard_ = std::make_unique<TensorBoardWriter>(dir_ + "/tensorboard", step);
}

void RunDirectory::write_metrics(const nlohmann::json& record) {
  if (metrics_) metrics_->append(record.dump() + "\n");
  if (tensorboard_) tensorboard_->write(record.at("step").get<int64_t>(), scalars_of(record));
}

void RunDirectory::write_checkpoint(torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                                    const nlohmann::json& meta, const CarriedState& carried,
                                    const NamedTensors& live_weights, const Progress& progress) {
  const std::string path = checkpoint_file(dir_, progress.step);
  save_checkpoint(path, model, &optimizer, meta, carried, live_weights);
  write_pointer(dir_, "latest", path);
  if (!progress.best_checkpoints.empty() && progress.best_checkpoints.front().second == progress.step)
    write_pointer(dir_, "best", path);
  prune(progress);
}

void RunDirectory::prune(const Progress& progress) const {
  const std::vector<int64_t> steps = checkpoint_steps(dir_);
  for (size_t i = static_cast<size_t>(config_.training.keep_last); i < steps.size(); ++i)
    if (!progress.is_best_checkpoint(steps[i]) || config_.training.keep_best == 0)
      fs::remove(checkpoint_file(dir_, steps[i]));
}

}  // namespace nmt
