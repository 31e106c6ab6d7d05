#include "train/trainer.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "bundle/checkpoint.hpp"
#include "bundle/init_model.hpp"
#include "bundle/metrics_log.hpp"
#include "bundle/model_dir.hpp"
#include "data/data_dir.hpp"
#include "model/seq2seq.hpp"
#include "runtime/append_file.hpp"
#include "runtime/files.hpp"
#include "runtime/signals.hpp"
#include "train/log_file_mirror.hpp"
#include "train/optimizer.hpp"
#include "train/parameter_average.hpp"
#include "train/progress_bar.hpp"
#include "train/training_task.hpp"

namespace fs = std::filesystem;

namespace nmt {
namespace {

using Clock = std::chrono::steady_clock;

torch::Device pick_device(const std::string& requested) {
  if (requested == "cuda" && !torch::cuda::is_available())
    throw std::runtime_error("training.device is 'cuda' but no CUDA device is available (this LibTorch build: " +
                             std::string(torch::cuda::is_available() ? "CUDA" : "CPU-only") + ")");
  return (requested != "cpu" && torch::cuda::is_available()) ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(seconds);
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return text;
}

// Everything about where training stands; saved in every checkpoint.
struct Progress {
  int64_t step = 0, epoch = 0, position = 0;  // position: batches of `epoch` already done
  double best_metric = std::numeric_limits<double>::infinity();  // lower is better
  int64_t bad_validations = 0;
  std::vector<std::pair<double, int64_t>> best_checkpoints;  // (metric, step), best first
  double seconds_before_run = 0;  // training wall time of earlier runs that this one resumed
};

class Trainer {
 public:
  Trainer(const Config& config, const TrainOptions& options);
  int run();

 private:
  void prepare_directory();
  void resume();
  void restore(const std::string& path);
  void initialize_from(const InitModel& init);
  double teacher_forcing_at(int64_t step) const;
  void train_step();
  void log_progress(int64_t total_steps);
  void validate_and_checkpoint();
  void checkpoint(std::optional<double> metric);
  void prune_checkpoints();
  void write_metrics(const nlohmann::json& record);
  nlohmann::json meta() const;
  double training_seconds() const;  // this run's wall time plus that of the runs it resumed
  bool time_budget_spent() const;

  Config config_;
  TrainOptions options_;
  std::string dir_;
  torch::Device device_;
  std::unique_ptr<TrainingTask> task_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<ParameterAverage> average_;  // with training.ema_decay
  CarriedState resumed_carried_state_;  // applied once the resumed epoch is planned
  std::optional<InitModel> init_;  // training.init_from
  LrSchedule schedule_;
  Progress progress_;
  double lr_ = 0;
  std::unique_ptr<AppendFile> metrics_;
  // Loss accumulates on the device between log lines: no per-step host sync.
  torch::Tensor window_loss_;
  int64_t window_tokens_ = 0, window_steps_ = 0;
  Clock::time_point window_start_, run_start_;
  ProgressBar bar_;
  double last_loss_ = 0;
  double longest_validation_seconds_ = 0;  // validation and checkpoint; the time budget's reserve
};

Trainer::Trainer(const Config& config, const TrainOptions& options)
    : config_(config),
      options_(options),
      dir_(config.training.dir),
      device_(pick_device(config.training.device)),
      schedule_(config.training),
      lr_(config.training.lr) {}

// Logs each line of the resolved config that differs between the original run and this one.
void log_changed_settings(const std::string& before, const std::string& after) {
  std::istringstream old_lines(before), new_lines(after);
  std::string section_old, section_new, old_line, new_line;
  while (std::getline(old_lines, old_line) && std::getline(new_lines, new_line)) {
    if (!old_line.empty() && old_line[0] != ' ') section_old = old_line;
    if (old_line != new_line)
      spdlog::info("resuming with a changed setting in {} '{}' (was '{}')", section_old, new_line, old_line);
  }
}

void Trainer::prepare_directory() {
  const std::string data_dir = config_.data.dir;
  if (!fs::exists(data_dir + "/manifest.json"))
    throw std::runtime_error("data.dir '" + data_dir + "' has no manifest.json: run 'nmt preprocess' first");
  const bool non_empty = fs::exists(dir_) && !fs::is_empty(dir_);
  if (options_.resume && !fs::exists(model_config_path(dir_)))
    throw std::runtime_error("--resume: nothing to resume in training.dir '" + dir_ + "' (" +
                             (non_empty ? "it holds no config.yaml" : fs::exists(dir_) ? "it is empty" : "it does not exist") +
                             "): start the run without --resume" + (non_empty ? " and with --overwrite" : ""));
  if (non_empty && !options_.resume) {
    if (!options_.overwrite)
      throw std::runtime_error("training.dir '" + dir_ + "' is not empty: pass --resume to continue or --overwrite to start over");
    fs::remove_all(dir_);
  }
  fs::create_directories(checkpoint_dir(dir_));
  if (options_.resume) {
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
    log_changed_settings(dump_config(previous), dump_config(config_));
  } else {
    if (init_)
      if (const auto side = differing_vocabulary(config_, data_dir, init_->dir))
        throw std::runtime_error("training.init_from: the " + *side + " vocabulary in data.dir '" + data_dir +
                                 "' is not the one of '" + init_->dir + "': run 'nmt preprocess' with this config, "
                                 "which encodes the data with the trained model's vocabularies");
    copy_vocabulary_files(config_, data_dir, dir_);
  }
  write_text_atomically(model_config_path(dir_), dump_config(config_));
}

nlohmann::json Trainer::meta() const {
  auto meta = model_identity(config_, dir_);
  meta["step"] = progress_.step;
  meta["epoch"] = progress_.epoch;
  meta["position"] = progress_.position;
  meta["lr"] = lr_;
  meta["optimizer"] = config_.training.optimizer;
  meta["best_metric"] = progress_.best_metric;
  meta["bad_validations"] = progress_.bad_validations;
  meta["best_checkpoints"] = progress_.best_checkpoints;
  meta["training_seconds"] = training_seconds();
  meta["schedule"] = schedule_.state();
  meta["threads"] = torch::get_num_threads();
  if (average_) meta["average_updates"] = average_->updates();
  return meta;
}

void Trainer::restore(const std::string& path) {
  const auto content = load_checkpoint(path, task_->module(), optimizer_.get(), model_identity(config_, dir_));
  resumed_carried_state_ = content.carried;
  if (average_) {
    average_->restore(content.meta.value("average_updates", int64_t{0}), content.training_weights, path);
    if (content.training_weights.empty())
      spdlog::info("'{}' holds no weight average: the average starts at step {}", path, content.meta.value("step", 0));
  } else if (!content.training_weights.empty()) {
    load_named_parameters(task_->module(), content.training_weights, path);
    spdlog::info("training.ema_decay is 0: training continues from the live weights, the average is dropped");
  }
  const auto& meta = content.meta;
  try {
    progress_.step = meta.at("step");
    progress_.epoch = meta.at("epoch");
    progress_.position = meta.at("position");
    progress_.best_metric = meta.at("best_metric").is_null() ? std::numeric_limits<double>::infinity()
                                                             : meta.at("best_metric").get<double>();
    progress_.bad_validations = meta.at("bad_validations");
    progress_.best_checkpoints = meta.at("best_checkpoints").get<std::vector<std::pair<double, int64_t>>>();
    progress_.seconds_before_run = meta.value("training_seconds", 0.0);
    schedule_.restore(meta.at("schedule"));
    lr_ = meta.at("lr");
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("cannot resume from checkpoint '" + path + "': its training state is incomplete (" +
                             e.what() + ")");
  }
  restore_cpu_rng_state(content.rng_state);
  if (meta.value("threads", 0) != torch::get_num_threads())
    spdlog::warn("checkpoint was written with {} threads, now {}: losses may differ in the last bits",
                 meta.value("threads", 0), torch::get_num_threads());
  spdlog::info("resumed from '{}' at step {}, epoch {}, batch {}", path, progress_.step, progress_.epoch + 1,
               progress_.position);
}

void Trainer::initialize_from(const InitModel& init) {
  // The checkpoint's model weights are its weight average when it has one; its optimizer,
  // schedule, step and early-stopping state stay behind.
  const auto content = load_checkpoint(init.checkpoint, task_->module(), nullptr, model_identity(config_, init.dir));
  spdlog::info("fine-tuning from '{}' (its step {}): fresh optimizer, schedule and step count", init.checkpoint,
               content.meta.value("step", int64_t{0}));
}

void Trainer::resume() {
  std::string path = options_.resume_from;
  if (path.empty()) {
    const auto latest = read_pointer(dir_, "latest");
    if (!latest) {
      // Killed before its first checkpoint: the directory holds the config and vocabularies only.
      spdlog::info("--resume: '{}' has no checkpoint yet; starting from step 0", dir_);
      drop_metrics_after(metrics_path(dir_), 0);
      return;
    }
    path = *latest;
  }
  restore(path);
  if (const int64_t dropped = drop_metrics_after(metrics_path(dir_), progress_.step))
    spdlog::info("dropped {} metrics records written after step {} by the interrupted run", dropped, progress_.step);
}

double Trainer::training_seconds() const {
  return progress_.seconds_before_run + std::chrono::duration<double>(Clock::now() - run_start_).count();
}

bool Trainer::time_budget_spent() const {
  const double budget = config_.training.budget_seconds();
  // The final validation must fit too: reserve half as much again as the longest one so far,
  // which also covers the step that runs before the next check.
  return budget > 0 && training_seconds() + 1.5 * longest_validation_seconds_ >= budget;
}

double Trainer::teacher_forcing_at(int64_t step) const {
  const auto& t = config_.training;
  if (t.teacher_forcing_decay_steps <= 0) return t.teacher_forcing;
  const double fraction = std::min(1.0, static_cast<double>(step) / static_cast<double>(t.teacher_forcing_decay_steps));
  return t.teacher_forcing + fraction * (t.teacher_forcing_min - t.teacher_forcing);
}

void Trainer::train_step() {
  auto& model = task_->module();
  for (auto& parameter : model.parameters()) parameter.mutable_grad() = torch::Tensor();  // freed, not zero-filled
  const BatchLoss loss = task_->loss(progress_.position, teacher_forcing_at(progress_.step));
  (loss.sum / static_cast<double>(std::max<int64_t>(1, loss.tokens))).backward();
  if (config_.training.clip_norm > 0) torch::nn::utils::clip_grad_norm_(model.parameters(), config_.training.clip_norm);
  lr_ = schedule_.lr_at(progress_.step + 1, training_seconds());
  set_learning_rate(*optimizer_, lr_);
  optimizer_->step();
  if (average_) average_->update();
  window_loss_ = window_loss_.defined() ? window_loss_ + loss.sum.detach() : loss.sum.detach().clone();
  window_tokens_ += loss.tokens;
  ++window_steps_;
  ++progress_.step;
}

void Trainer::write_metrics(const nlohmann::json& record) { metrics_->append(record.dump() + "\n"); }

void Trainer::log_progress(int64_t total_steps) {
  bar_.clear();
  const double loss = window_loss_.item<double>() / static_cast<double>(std::max<int64_t>(1, window_tokens_));
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - window_start_).count();
  const double elapsed = training_seconds();
  const double tokens_per_second = window_tokens_ / std::max(seconds, 1e-9);
  const double seconds_per_step = seconds / static_cast<double>(std::max<int64_t>(1, window_steps_));
  double eta = total_steps > 0 ? seconds_per_step * static_cast<double>(total_steps - progress_.step) : 0;
  if (config_.training.max_minutes > 0) eta = std::min(eta, std::max(0.0, config_.training.budget_seconds() - elapsed));
  spdlog::info("epoch {} step {}{} | loss {:.4f} ppl {:.2f} | lr {:.3g} | {:.0f} tok/s | elapsed {} eta {}",
               progress_.epoch + 1, progress_.step, total_steps > 0 ? "/" + std::to_string(total_steps) : "", loss,
               std::exp(std::min(loss, 100.0)), lr_, tokens_per_second, format_duration(elapsed),
               total_steps > 0 ? format_duration(eta) : "?");
  write_metrics({{"type", "train"}, {"step", progress_.step}, {"epoch", progress_.epoch + 1}, {"loss", loss},
                 {"ppl", std::exp(std::min(loss, 100.0))}, {"lr", lr_}, {"tokens", window_tokens_}, {"seconds", seconds},
                 {"tokens_per_sec", tokens_per_second}, {"elapsed", elapsed}});
  window_loss_ = torch::Tensor();
  window_tokens_ = window_steps_ = 0;
  window_start_ = Clock::now();
  last_loss_ = loss;
}

void Trainer::validate_and_checkpoint() {
  bar_.clear();
  const AveragedWeightsScope averaged(average_.get());
  const auto start = Clock::now();
  nlohmann::json record = {{"type", "valid"}, {"step", progress_.step}, {"epoch", progress_.epoch + 1}};
  record.update(task_->validate());
  record["seconds"] = std::chrono::duration<double>(Clock::now() - start).count();
  const std::string metric_name = config_.training.early_stopping_metric;
  if (!record.contains(metric_name))
    throw std::runtime_error("training.early_stopping_metric is '" + metric_name + "' but training.valid_bleu is 0");
  const double value = record[metric_name].get<double>();
  const double lower_is_better = (metric_name == "bleu" || metric_name == "chrf") ? -value : value;
  const bool improved = lower_is_better < progress_.best_metric;
  if (improved) {
    progress_.best_metric = lower_is_better;
    progress_.bad_validations = 0;
  } else {
    ++progress_.bad_validations;
  }
  if (schedule_.on_validation(lower_is_better)) spdlog::info("validation plateau: learning rate decayed");
  record["best"] = improved;
  write_metrics(record);
  spdlog::info("validation step {} | loss {:.4f} ppl {:.2f}{}{}{}", progress_.step, record["loss"].get<double>(),
               record["ppl"].get<double>(),
               record.contains("bpc") ? fmt::format(" bpc {:.4f}", record["bpc"].get<double>()) : "",
               record.contains("bleu") ? fmt::format(" | BLEU {:.2f} chrF {:.2f}", record["bleu"].get<double>(),
                                                     record["chrf"].get<double>())
                                       : "",
               improved ? " | new best" : "");
  checkpoint(lower_is_better);
  longest_validation_seconds_ =
      std::max(longest_validation_seconds_, std::chrono::duration<double>(Clock::now() - start).count());
}

void Trainer::checkpoint(std::optional<double> metric) {
  const std::string path = checkpoint_file(dir_, progress_.step);
  if (metric) {
    progress_.best_checkpoints.emplace_back(*metric, progress_.step);
    std::stable_sort(progress_.best_checkpoints.begin(), progress_.best_checkpoints.end());
    if (static_cast<int64_t>(progress_.best_checkpoints.size()) > std::max<int64_t>(1, config_.training.keep_best))
      progress_.best_checkpoints.pop_back();
  }
  const AveragedWeightsScope averaged(average_.get());
  save_checkpoint(path, task_->module(), optimizer_.get(), meta(), task_->carried_state(),
                  average_ ? average_->live_weights() : NamedTensors{});
  write_pointer(dir_, "latest", path);
  if (!progress_.best_checkpoints.empty() && progress_.best_checkpoints.front().second == progress_.step)
    write_pointer(dir_, "best", path);
  prune_checkpoints();
}

void Trainer::prune_checkpoints() {
  const std::vector<int64_t> steps = checkpoint_steps(dir_);
  for (size_t i = static_cast<size_t>(config_.training.keep_last); i < steps.size(); ++i) {
    const bool is_best = std::any_of(progress_.best_checkpoints.begin(), progress_.best_checkpoints.end(),
                                     [&](const auto& best) { return best.second == steps[i]; });
    if (!is_best || config_.training.keep_best == 0) fs::remove(checkpoint_file(dir_, steps[i]));
  }
}

int Trainer::run() {
  init_ = find_init_model(config_);
  prepare_directory();
  LogFileMirror log_mirror(dir_ + "/train.log");

  torch::manual_seed(static_cast<uint64_t>(config_.training.seed));
  task_ = make_training_task(config_, dir_, device_);
  // A resumed fine-tuning run takes its weights from its own checkpoint instead.
  if (init_ && !(options_.resume && read_pointer(dir_, "latest"))) initialize_from(*init_);
  optimizer_ = make_optimizer(config_.training, task_->module().parameters());
  if (config_.training.ema_decay > 0)
    average_ = std::make_unique<ParameterAverage>(task_->module(), config_.training.ema_decay);
  if (options_.resume) resume();
  metrics_ = std::make_unique<AppendFile>(metrics_path(dir_));
  spdlog::info("model: {} parameters, {}, device {}", count_parameters(task_->module()), task_->describe(),
               device_.str());

  const auto& t = config_.training;
  install_stop_handlers();
  task_->module().train();
  run_start_ = window_start_ = Clock::now();
  int64_t total_steps = t.max_steps;
  bool finished = false;
  while (!finished && (t.max_epochs == 0 || progress_.epoch < t.max_epochs)) {
    const int64_t batches = task_->start_epoch(progress_.epoch);
    if (!resumed_carried_state_.empty()) {
      if (progress_.position > 0) task_->restore_carried_state(resumed_carried_state_);
      resumed_carried_state_.clear();
    }
    if (total_steps == 0 && t.max_epochs > 0) total_steps = batches * t.max_epochs;
    while (progress_.position < batches) {
      if (t.max_steps > 0 && progress_.step >= t.max_steps) {
        finished = true;
        break;
      }
      if (time_budget_spent()) {
        spdlog::info("training.max_minutes ({}) reached at step {}", t.max_minutes, progress_.step);
        finished = true;
        break;
      }
      train_step();
      ++progress_.position;
      log_mirror.check();
      bar_.update(progress_.step, total_steps,
                  fmt::format("epoch {} step {} | loss {:.3f} | {:.0f} tok/s", progress_.epoch + 1, progress_.step,
                              last_loss_,
                              window_tokens_ / std::max(1e-9, std::chrono::duration<double>(Clock::now() - window_start_).count())));
      if (progress_.step % t.log_every == 0) log_progress(total_steps);
      if (progress_.step % t.valid_every == 0) {
        validate_and_checkpoint();
        if (t.patience > 0 && progress_.bad_validations >= t.patience) {
          spdlog::info("early stopping: no improvement in {} validations", t.patience);
          return 0;
        }
      }
      if (const int signal = stop_signal()) {
        bar_.clear();
        checkpoint(std::nullopt);
        spdlog::warn("stopped by signal {} at step {}; checkpoint written, resume with --resume", signal,
                     progress_.step);
        return 128 + signal;
      }
    }
    if (!finished) {
      ++progress_.epoch;
      progress_.position = 0;
    }
  }
  if (progress_.step % t.valid_every != 0) validate_and_checkpoint();
  log_mirror.check();
  bar_.clear();
  spdlog::info("training finished at step {} in {}", progress_.step,
               format_duration(training_seconds()));
  return 0;
}

}  // namespace

int train(const Config& config, const TrainOptions& options) { return Trainer(config, options).run(); }

}  // namespace nmt
