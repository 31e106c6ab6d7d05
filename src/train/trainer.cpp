#include "train/trainer.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "bundle/checkpoint.hpp"
#include "bundle/init_model.hpp"
#include "bundle/model_dir.hpp"
#include "distributed/process_group.hpp"
#include "distributed/world.hpp"
#include "model/precision.hpp"
#include "model/seq2seq.hpp"
#include "runtime/environment.hpp"
#include "runtime/signals.hpp"
#include "runtime/torch_compat.hpp"
#include "train/gradient_sync.hpp"
#include "train/log_file_mirror.hpp"
#include "train/loss_scaler.hpp"
#include "train/optimizer.hpp"
#include "train/parameter_average.hpp"
#include "train/progress.hpp"
#include "train/rank_agreement.hpp"
#include "train/run_directory.hpp"
#include "train/step_plan.hpp"
#include "train/training_log.hpp"
#include "train/training_task.hpp"
#include "train/validation.hpp"

namespace nmt {
namespace {

using Clock = std::chrono::steady_clock;

torch::Device pick_device(const std::string& requested) {
  if (requested == "cuda" && !torch::cuda::is_available())
    throw std::runtime_error("training.device is 'cuda', but CUDA is " + cuda_state());
  return (requested != "cpu" && torch::cuda::is_available()) ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

// The loop: steps, validation and checkpoints at their intervals, signals and budgets. The run
// directory, the ranks' agreements, step plans, validation and the log are rooms of their own.
class Trainer {
 public:
  Trainer(const Config& config, const TrainOptions& options);
  int run();

 private:
  void set_up();
  void resume();
  void restore(const std::string& path);
  void initialize_from(const InitModel& init);
  double teacher_forcing_at(int64_t step) const;
  void train_step(const StepPlan& plan, const StepAgreement& agreed);
  void log_window(int64_t total_steps);
  void validate_and_checkpoint();
  void checkpoint(std::optional<double> metric);
  int stop_for_signal(int signal);
  nlohmann::json meta() const;
  double training_seconds() const;  // this run's wall time plus that of the runs it resumed
  bool time_budget_spent() const;

  Config config_;
  TrainOptions options_;
  RunDirectory run_dir_;
  torch::Device device_;
  World world_;
  std::unique_ptr<ProcessGroup> group_;
  std::unique_ptr<GradientSync> gradient_sync_;  // with more than one rank
  // Gradient sums start during the backward pass; NMT_OVERLAP_ALLREDUCE=0 sends them all after it
  // (for measurements, docs/DISTRIBUTED.md).
  const bool overlap_gradient_sums_ = switch_from_environment("NMT_OVERLAP_ALLREDUCE");
  // Embedding tables are summed by the rows in use; NMT_ROW_SPARSE_SUMS=0 sums them whole.
  const bool row_sparse_sums_ = switch_from_environment("NMT_ROW_SPARSE_SUMS");
  std::unique_ptr<TrainingTask> task_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<ParameterAverage> average_;  // with training.ema_decay
  CarriedState resumed_carried_state_;  // applied once the resumed epoch is planned
  std::optional<InitModel> init_;  // training.init_from
  std::optional<LogFileMirror> log_mirror_;
  const Precision precision_;  // of the matrix products: training.precision
  LossScaler scaler_;
  LrSchedule schedule_;
  Progress progress_;
  double lr_ = 0;
  TrainingLog log_;
  Clock::time_point run_start_;
  double longest_validation_seconds_ = 0;  // validation and checkpoint; the time budget's reserve
};

Trainer::Trainer(const Config& config, const TrainOptions& options)
    : config_(config),
      options_(options),
      run_dir_(config_, options.resume, options.overwrite),
      device_(pick_device(config.training.device)),
      world_(world_from_environment()),
      precision_(resolve_precision(config.training.precision, device_, "training.precision")),
      scaler_(config.training, precision_, device_),
      schedule_(config.training),
      lr_(config.training.lr) {}

nlohmann::json Trainer::meta() const {
  auto meta = model_identity(config_, run_dir_.path());
  write_progress(progress_, training_seconds(), meta);
  meta["lr"] = lr_;
  meta["optimizer"] = config_.training.optimizer;
  meta["schedule"] = schedule_.state();
  meta["threads"] = torch::get_num_threads();
  meta["world_size"] = world_.size;
  if (average_) meta["average_updates"] = average_->updates();
  if (scaler_.enabled()) meta["loss_scale"] = scaler_.state();
  return meta;
}

void Trainer::restore(const std::string& path) {
  const auto content =
      load_checkpoint(path, task_->module(), optimizer_.get(), model_identity(config_, run_dir_.path()));
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
    progress_ = read_progress(meta);
    schedule_.restore(meta.at("schedule"));
    lr_ = meta.at("lr");
    scaler_.restore(meta.value("loss_scale", nlohmann::json()));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("cannot resume from checkpoint '" + path + "': its training state is incomplete (" +
                             e.what() + ")");
  }
  restore_cpu_rng_state(content.rng_state);
  if (const int written_by = meta.value("world_size", 1); written_by != world_.size)
    spdlog::warn("checkpoint was written by {} process{}, now {}: training continues from the same data position, "
                 "but not bit-identically to an uninterrupted run",
                 written_by, written_by == 1 ? "" : "es", world_.size);
  else if (meta.value("threads", 0) != torch::get_num_threads())
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
    const auto latest = run_dir_.latest_checkpoint();
    if (!latest) {
      // Killed before its first checkpoint: the directory holds the config and vocabularies only.
      spdlog::info("--resume: '{}' has no checkpoint yet; starting from step 0", run_dir_.path());
      if (group_->is_root()) run_dir_.drop_metrics_after(0);
      return;
    }
    path = *latest;
  }
  restore(path);
  if (!group_->is_root()) return;
  if (const int64_t dropped = run_dir_.drop_metrics_after(progress_.step))
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

void Trainer::train_step(const StepPlan& plan, const StepAgreement& agreed) {
  const int64_t batch_tokens = agreed.tokens;
  auto& model = task_->module();
  for (auto& parameter : model.parameters()) parameter.mutable_grad() = torch::Tensor();  // freed, not zero-filled
  if (world_.distributed()) torch::manual_seed(rank_step_seed(config_.training.seed, progress_.step, world_.rank));
  const double teacher_forcing = teacher_forcing_at(progress_.step);
  // Dividing by tokens / scale multiplies the loss by the scale: exact, the scale being a power of two.
  const double divisor = static_cast<double>(std::max<int64_t>(1, batch_tokens)) / scaler_.factor();
  torch::Tensor loss_sum;
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    const BatchLoss loss = task_->loss(plan.pieces[i], teacher_forcing);
    if (gradient_sync_ && overlap_gradient_sums_ && i + 1 == plan.pieces.size()) gradient_sync_->arm();
    (loss.sum / divisor).backward();
    loss_sum = loss_sum.defined() ? loss_sum + loss.sum.detach() : loss.sum.detach().clone();
  }
  if (!loss_sum.defined()) loss_sum = torch::zeros({}, torch::TensorOptions().device(device_));
  double sum_seconds = 0;
  if (gradient_sync_) {
    const auto start = Clock::now();
    loss_sum = gradient_sync_->finish(loss_sum);
    sum_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }
  log_.add_waits(agreed.wait_seconds, sum_seconds);
  lr_ = schedule_.lr_at(progress_.step + 1, agreed.seconds);
  // The ranks' gradients are summed before the check, so every rank skips the same steps.
  if (scaler_.unscale(model.parameters())) {
    if (config_.training.clip_norm > 0) clip_gradient_norm(*optimizer_, model.parameters(), config_.training.clip_norm);
    set_learning_rate(*optimizer_, lr_);
    optimizer_->step();
    if (average_) average_->update();
  }
  scaler_.update();
  log_.add_step(loss_sum, batch_tokens);
  ++progress_.step;
}

void Trainer::log_window(int64_t total_steps) {
  TrainingLog::Position at;
  at.epoch = progress_.epoch;
  at.step = progress_.step;
  at.total_steps = total_steps;
  at.lr = lr_;
  at.elapsed = training_seconds();
  at.budget_seconds = config_.training.max_minutes > 0 ? config_.training.budget_seconds() : 0;
  at.distributed = world_.distributed();
  const auto record = log_.close_window(at);
  if (group_->is_root()) run_dir_.write_metrics(record);
}

void Trainer::validate_and_checkpoint() {
  log_.clear_bar();
  const auto start = Clock::now();
  // Rank 0 validates and checkpoints while the others wait for its verdict in the store (not in
  // a collective, so a slow validation or disk cannot trip the group's time-out); every rank
  // then takes the same decisions from the same number.
  Validation validation;
  if (group_->is_root())
    validation = validate(*task_, average_.get(), config_.training.early_stopping_metric, progress_.step, progress_.epoch);
  const std::string key = "valid/" + std::to_string(progress_.step);
  if (!group_->is_root())
    validation.lower_is_better = std::stod(group_->await(key, config_.distributed.checkpoint_timeout_seconds,
                                                         "waiting for rank 0's validation and checkpoint"));
  const bool improved = progress_.record_validation(validation.lower_is_better);
  if (schedule_.on_validation(validation.lower_is_better) && group_->is_root())
    spdlog::info("validation plateau: learning rate decayed");
  if (group_->is_root()) {
    validation.record["best"] = improved;
    run_dir_.write_metrics(validation.record);
    log_validation(validation.record, improved);
  }
  checkpoint(validation.lower_is_better);
  if (group_->is_root()) group_->publish(key, fmt::format("{:.17g}", validation.lower_is_better));
  check_parameters_agree(*group_, task_->module(), "after validation");
  longest_validation_seconds_ =
      std::max(longest_validation_seconds_, std::chrono::duration<double>(Clock::now() - start).count());
}

void Trainer::checkpoint(std::optional<double> metric) {
  if (metric) progress_.rank_checkpoint(*metric, config_.training.keep_best);
  if (!group_->is_root()) return;  // every rank keeps the bookkeeping; rank 0 alone writes
  const AveragedWeightsScope averaged(average_.get());
  run_dir_.write_checkpoint(task_->module(), *optimizer_, meta(), task_->carried_state(),
                            average_ ? average_->live_weights() : NamedTensors{}, progress_);
}

int Trainer::stop_for_signal(int signal) {
  // Every rank stops before the same step; rank 0 writes the one checkpoint, and the others wait
  // for it so that no launcher kills rank 0 while it writes.
  log_.clear_bar();
  checkpoint(std::nullopt);
  const std::string key = "stopped/" + std::to_string(progress_.step);
  if (group_->is_root()) group_->publish(key, "", ProcessGroup::Delivery::confirmed);
  else group_->await(key, config_.distributed.checkpoint_timeout_seconds, "waiting for rank 0's checkpoint");
  spdlog::warn("stopped by signal {} at step {}; checkpoint written, resume with --resume", signal, progress_.step);
  return 128 + signal;
}

void Trainer::set_up() {
  group_ = std::make_unique<ProcessGroup>(world_, config_.distributed, device_);
  if (world_.distributed()) {
    // Rank 0 alone writes logs, metrics and checkpoints; the others speak only of trouble.
    spdlog::set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S] [rank {}] [%^%l%$] %v", world_.rank));
    if (!group_->is_root() && spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
    if (config_.task == "lm" && config_.training.lm_mode == "stream")
      throw std::runtime_error("training.lm_mode stream carries one hidden state across all streams, so it trains on "
                               "one process; use lm_mode sentence to train a language model on several");
    spdlog::info("data-parallel training: {}", group_->describe());
    check_same_setup(*group_, config_);
  }
  init_ = find_init_model(config_);
  root_first(*group_, "prepared", config_.distributed.checkpoint_timeout_seconds, [this] { run_dir_.prepare(init_); });
  if (group_->is_root()) log_mirror_.emplace(run_dir_.path() + "/train.log");

  torch::manual_seed(static_cast<uint64_t>(config_.training.seed));
  task_ = make_training_task(config_, run_dir_.path(), device_);
  // A resumed fine-tuning run takes its weights from its own checkpoint instead.
  if (init_ && !(options_.resume && run_dir_.latest_checkpoint())) initialize_from(*init_);
  optimizer_ = make_optimizer(config_.training, task_->module().parameters());
  if (config_.training.ema_decay > 0)
    average_ = std::make_unique<ParameterAverage>(task_->module(), config_.training.ema_decay);
  if (options_.resume) resume();
  check_parameters_agree(*group_, task_->module(), "at the start");
  if (world_.distributed()) {
    const auto row_sparse = row_sparse_sums_ ? embedding_tables(task_->module()) : std::vector<torch::Tensor>{};
    gradient_sync_ = std::make_unique<GradientSync>(task_->module().parameters(), row_sparse, *group_,
                                                    config_.distributed.bucket_mb);
  }
  if (group_->is_root()) run_dir_.open_metrics(progress_.step);
  spdlog::info("model: {} parameters, {}, device {}, matrix products in {}{}", count_parameters(task_->module()),
               task_->describe(), device_.str(), precision_name(precision_),
               scaler_.enabled() ? fmt::format(", dynamic loss scaling at {}", scaler_.factor()) : "");
  if (precision_ == Precision::bf16 && device_.is_cpu() && !cpu_has_native_bf16())
    spdlog::warn("training.precision bf16: this CPU has no native bf16 products (AVX512_BF16 or AMX, with oneDNN "
                 "allowed to use them), so they are emulated and slower than fp32");
}

int Trainer::run() {
  set_up();
  const PrecisionScope precision(precision_);  // steps and validation
  const auto& t = config_.training;
  install_stop_handlers();
  task_->module().train();
  run_start_ = Clock::now();
  log_.start();
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
      group_->set_step(progress_.step);
      const StepPlan plan = plan_step(*task_, progress_.position, group_->rank(), group_->size(), t.accumulate);
      const StepAgreement agreed = agree_on_step(*group_, plan.tokens, group_->is_root() && time_budget_spent(),
                                                 training_seconds(), stop_signal());
      if (agreed.stop_signal) return stop_for_signal(agreed.stop_signal);
      if (agreed.budget_spent) {
        spdlog::info("training.max_minutes ({}) reached at step {}", t.max_minutes, progress_.step);
        finished = true;
        break;
      }
      train_step(plan, agreed);
      ++progress_.position;
      if (log_mirror_) log_mirror_->check();
      if (group_->is_root()) log_.show(progress_.epoch, progress_.step, total_steps);
      if (progress_.step % t.log_every == 0) log_window(total_steps);
      if (progress_.step % t.valid_every == 0) {
        validate_and_checkpoint();
        if (t.patience > 0 && progress_.bad_validations >= t.patience) {
          spdlog::info("early stopping: no improvement in {} validations", t.patience);
          return 0;
        }
      }
    }
    if (!finished) {
      ++progress_.epoch;
      progress_.position = 0;
    }
  }
  group_->set_step(progress_.step);
  if (progress_.step % t.valid_every != 0) validate_and_checkpoint();
  if (log_mirror_) log_mirror_->check();
  log_.clear_bar();
  spdlog::info("training finished at step {} in {}", progress_.step, format_duration(training_seconds()));
  return 0;
}

}  // namespace

int train(const Config& config, const TrainOptions& options) { return Trainer(config, options).run(); }

}  // namespace nmt
