#include "train/trainer.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>

#include "bundle/checkpoint.hpp"
#include "bundle/init_model.hpp"
#include "bundle/metrics_log.hpp"
#include "bundle/model_dir.hpp"
#include "data/data_dir.hpp"
#include "distributed/process_group.hpp"
#include "distributed/shard.hpp"
#include "distributed/world.hpp"
#include "model/seq2seq.hpp"
#include "runtime/append_file.hpp"
#include "runtime/environment.hpp"
#include "runtime/files.hpp"
#include "runtime/signals.hpp"
#include "train/gradient_sync.hpp"
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

// The weights of the model's embedding layers: their gradients have rows only for the tokens of
// the batch (more when a table is tied to an output layer; GradientSync then sums it whole).
std::vector<torch::Tensor> embedding_tables(torch::nn::Module& model) {
  std::vector<torch::Tensor> tables;
  for (const auto& module : model.modules())
    if (const auto* embedding = module->as<torch::nn::Embedding>()) tables.push_back(embedding->weight);
  return tables;
}

// Everything about where training stands; saved in every checkpoint.
struct Progress {
  int64_t step = 0, epoch = 0, position = 0;  // position: batches of `epoch` already done
  double best_metric = std::numeric_limits<double>::infinity();  // lower is better
  int64_t bad_validations = 0;
  std::vector<std::pair<double, int64_t>> best_checkpoints;  // (metric, step), best first
  double seconds_before_run = 0;  // training wall time of earlier runs that this one resumed
};

// This rank's part of one batch: its shard, cut into training.accumulate micro-batches.
struct StepPlan {
  std::vector<Batch> pieces;  // empty pieces left out: a shard may be empty
  int64_t tokens = 0;         // target tokens of this rank's pieces
};

// What all ranks agree on before a step, from one small allreduce.
struct StepAgreement {
  int64_t tokens = 0;    // target tokens of the whole batch: the gradient's divisor
  int stop_signal = 0;   // a SIGINT/SIGTERM that reached any rank
  bool budget_spent = false;  // rank 0's clock decides training.max_minutes
  double seconds = 0;         // rank 0's training time: time-based schedules read it
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
  void check_same_setup();
  void root_first(const std::string& key, const std::function<void()>& work);
  void check_parameters_agree(const char* when);
  double teacher_forcing_at(int64_t step) const;
  StepPlan plan_step();
  StepAgreement agree_on_step(int64_t tokens);
  void train_step(const StepPlan& plan, const StepAgreement& agreed);
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
  LrSchedule schedule_;
  Progress progress_;
  double lr_ = 0;
  std::unique_ptr<AppendFile> metrics_;
  // Loss accumulates on the device between log lines: no per-step host sync.
  torch::Tensor window_loss_;
  int64_t window_tokens_ = 0, window_steps_ = 0;
  // Data-parallel only: seconds of the window spent agreeing on steps (waiting for the slowest
  // rank included) and finishing the gradient sums after the backward pass (what overlapping
  // them with it did not hide).
  double window_agree_seconds_ = 0, window_sum_seconds_ = 0;
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
      world_(world_from_environment()),
      schedule_(config.training),
      lr_(config.training.lr) {}

struct SettingChange {
  std::string section, before, after;  // section header, and the line in each dump
};

std::string trimmed(const std::string& line) { return line.substr(std::min(line.size(), line.find_first_not_of(' '))); }

// The lines that differ between two dumps of resolved config (or of anything line by line).
std::vector<SettingChange> changed_settings(const std::string& before, const std::string& after) {
  std::istringstream old_lines(before), new_lines(after);
  std::string section, old_line, new_line;
  std::vector<SettingChange> changes;
  while (true) {
    const bool more_old = static_cast<bool>(std::getline(old_lines, old_line));
    const bool more_new = static_cast<bool>(std::getline(new_lines, new_line));
    if (!more_old && !more_new) break;
    if (!more_old || !more_new) {
      changes.push_back({"", more_old ? trimmed(old_line) : "(end)", more_new ? trimmed(new_line) : "(end)"});
      break;
    }
    if (!old_line.empty() && old_line[0] != ' ') section = old_line;
    if (old_line != new_line) changes.push_back({section, trimmed(old_line), trimmed(new_line)});
  }
  return changes;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
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
    for (const auto& change : changed_settings(dump_config(previous), dump_config(config_)))
      spdlog::info("resuming with a changed setting in {} '{}' (was '{}')", change.section, change.after, change.before);
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
  meta["world_size"] = world_.size;
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

void Trainer::root_first(const std::string& key, const std::function<void()>& work) {
  // Rank 0 does `work`; the others go on once it has, or stop with its error.
  if (!group_->is_root()) {
    const std::string error = group_->await(key, config_.distributed.checkpoint_timeout_seconds, "waiting for rank 0");
    if (!error.empty()) throw std::runtime_error("rank 0 failed: " + error);
    return;
  }
  try {
    work();
  } catch (const std::exception& e) {
    group_->publish(key, e.what(), ProcessGroup::Delivery::confirmed);
    throw;
  }
  group_->publish(key, "");
}

void Trainer::check_same_setup() {
  // Rank 0's resolved config and data vocabularies are the reference; a rank that differs says
  // how, and every rank stops.
  std::string setup = dump_config(config_);
  for (const auto& side : vocab_sides(config_.task)) {
    const std::string path = vocab_path(config_.data.dir, side);
    setup += "vocabulary " + side + ": " + (fs::exists(path) ? fnv1a_hex(read_text_file(path)) : "missing") + "\n";
  }
  if (group_->is_root()) group_->publish("setup", setup);
  const std::string reference =
      group_->is_root() ? setup : group_->await("setup", config_.distributed.rendezvous_timeout_seconds, "reading rank 0's setup");
  std::string difference;
  for (const auto& change : changed_settings(reference, setup))
    difference += fmt::format("{}{} '{}' where rank 0 has '{}'", difference.empty() ? "" : "; ",
                              change.section.empty() ? "" : change.section, change.after, change.before);
  if (!difference.empty()) group_->publish("setup/" + std::to_string(world_.rank), difference);
  auto differs = torch::zeros({world_.size}, torch::kLong);
  differs[world_.rank] = difference.empty() ? 0 : 1;
  group_->allreduce(differs, ProcessGroup::Op::sum, "comparing the ranks' configs");
  if (differs.sum().item<int64_t>() == 0) return;
  if (!group_->is_root())
    throw std::runtime_error(difference.empty() ? "another rank's config or vocabularies differ from rank 0's (rank 0 names them)"
                                                : "this rank's config or vocabularies differ from rank 0's: " + difference);
  std::string report;
  for (int rank = 1; rank < world_.size; ++rank)
    if (differs[rank].item<int64_t>())
      report += fmt::format("\n  rank {}: {}", rank,
                            group_->await("setup/" + std::to_string(rank), 10, "reading a rank's config difference"));
  throw std::runtime_error("the ranks' configs or vocabularies differ from rank 0's (" + config_.source_path + "):" + report);
}

void Trainer::check_parameters_agree(const char* when) {
  if (!world_.distributed()) return;
  uint64_t hash = kFnv1aOffset;
  int64_t count = 0;
  for (const auto& parameter : task_->module().parameters()) {
    const auto values = parameter.detach().to(torch::kCPU).contiguous();
    hash = fnv1a(values.data_ptr(), values.nbytes(), hash);
    count += parameter.numel();
  }
  const int64_t signed_hash = static_cast<int64_t>(hash >> 1);
  auto low = torch::tensor({count, signed_hash}), high = low.clone();
  group_->allreduce(low, ProcessGroup::Op::min, "comparing parameters");
  group_->allreduce(high, ProcessGroup::Op::max, "comparing parameters");
  if (low.equal(high)) {
    spdlog::info("the {} ranks' parameters agree {}", world_.size, when);
    return;
  }
  group_->fail("comparing parameters",
                 low[0].item<int64_t>() != high[0].item<int64_t>()
                     ? fmt::format("the ranks' models differ in size ({} to {} parameters) {}", low[0].item<int64_t>(),
                                   high[0].item<int64_t>(), when)
                     : fmt::format("the ranks' parameters no longer agree {}", when));
}

void Trainer::resume() {
  std::string path = options_.resume_from;
  if (path.empty()) {
    const auto latest = read_pointer(dir_, "latest");
    if (!latest) {
      // Killed before its first checkpoint: the directory holds the config and vocabularies only.
      spdlog::info("--resume: '{}' has no checkpoint yet; starting from step 0", dir_);
      if (group_->is_root()) drop_metrics_after(metrics_path(dir_), 0);
      return;
    }
    path = *latest;
  }
  restore(path);
  if (!group_->is_root()) return;
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

StepPlan Trainer::plan_step() {
  const std::vector<int64_t> costs = task_->example_costs(progress_.position);
  const auto [begin, end] = shard_range(costs, group_->rank(), group_->size());
  const std::vector<int64_t> shard(costs.begin() + static_cast<std::ptrdiff_t>(begin),
                                   costs.begin() + static_cast<std::ptrdiff_t>(end));
  const int pieces = static_cast<int>(config_.training.accumulate);
  StepPlan plan;
  for (int piece = 0; piece < pieces; ++piece) {
    const auto [piece_begin, piece_end] = shard_range(shard, piece, pieces);
    if (piece_begin == piece_end) continue;
    plan.pieces.push_back(task_->examples(progress_.position, begin + piece_begin, begin + piece_end));
    plan.tokens += plan.pieces.back().target_tokens;
  }
  return plan;
}

StepAgreement Trainer::agree_on_step(int64_t tokens) {
  // [batch tokens, rank 0's budget verdict, rank 0's training time in microseconds, one
  // stop-signal slot per rank]: one allreduce. Every rank's clock but rank 0's is ignored, so a
  // time-based schedule gives the same learning rate everywhere.
  constexpr int kSlots = 3;
  auto meta = torch::zeros({kSlots + group_->size()}, torch::kLong);
  auto* values = meta.data_ptr<int64_t>();
  values[0] = tokens;
  if (group_->is_root()) {
    values[1] = time_budget_spent();
    values[2] = static_cast<int64_t>(training_seconds() * 1e6);
  }
  values[kSlots + group_->rank()] = stop_signal();
  const auto start = Clock::now();
  group_->allreduce(meta, ProcessGroup::Op::sum, "agreeing on the next step");
  window_agree_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  StepAgreement agreed{values[0], 0, values[1] != 0, static_cast<double>(values[2]) / 1e6};
  for (int rank = 0; rank < group_->size() && !agreed.stop_signal; ++rank)
    agreed.stop_signal = static_cast<int>(values[kSlots + rank]);
  return agreed;
}

void Trainer::train_step(const StepPlan& plan, const StepAgreement& agreed) {
  const int64_t batch_tokens = agreed.tokens;
  auto& model = task_->module();
  for (auto& parameter : model.parameters()) parameter.mutable_grad() = torch::Tensor();  // freed, not zero-filled
  // Dropout differs between ranks and depends on nothing but (seed, step, rank): a resume with
  // the same world size needs no random state.
  if (world_.distributed())
    torch::manual_seed(splitmix64(splitmix64(static_cast<uint64_t>(config_.training.seed) ^
                                             static_cast<uint64_t>(progress_.step)) + static_cast<uint64_t>(world_.rank)));
  const double teacher_forcing = teacher_forcing_at(progress_.step);
  const double divisor = static_cast<double>(std::max<int64_t>(1, batch_tokens));
  torch::Tensor loss_sum;
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    const BatchLoss loss = task_->loss(plan.pieces[i], teacher_forcing);
    if (gradient_sync_ && overlap_gradient_sums_ && i + 1 == plan.pieces.size()) gradient_sync_->arm();
    (loss.sum / divisor).backward();
    loss_sum = loss_sum.defined() ? loss_sum + loss.sum.detach() : loss.sum.detach().clone();
  }
  if (!loss_sum.defined()) loss_sum = torch::zeros({}, torch::TensorOptions().device(device_));
  if (gradient_sync_) {
    const auto start = Clock::now();
    loss_sum = gradient_sync_->finish(loss_sum);
    window_sum_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  }
  if (config_.training.clip_norm > 0) clip_gradient_norm(*optimizer_, model.parameters(), config_.training.clip_norm);
  lr_ = schedule_.lr_at(progress_.step + 1, agreed.seconds);
  set_learning_rate(*optimizer_, lr_);
  optimizer_->step();
  if (average_) average_->update();
  window_loss_ = window_loss_.defined() ? window_loss_ + loss_sum : loss_sum;
  window_tokens_ += batch_tokens;
  ++window_steps_;
  ++progress_.step;
}

void Trainer::write_metrics(const nlohmann::json& record) {
  if (metrics_) metrics_->append(record.dump() + "\n");
}

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
  nlohmann::json record = {{"type", "train"}, {"step", progress_.step}, {"epoch", progress_.epoch + 1}, {"loss", loss},
                           {"ppl", std::exp(std::min(loss, 100.0))}, {"lr", lr_}, {"tokens", window_tokens_},
                           {"seconds", seconds}, {"tokens_per_sec", tokens_per_second}, {"elapsed", elapsed}};
  if (world_.distributed()) {
    record["agree_seconds"] = window_agree_seconds_;
    record["gradient_sum_seconds"] = window_sum_seconds_;
    window_agree_seconds_ = window_sum_seconds_ = 0;
  }
  write_metrics(record);
  window_loss_ = torch::Tensor();
  window_tokens_ = window_steps_ = 0;
  window_start_ = Clock::now();
  last_loss_ = loss;
}

void Trainer::validate_and_checkpoint() {
  bar_.clear();
  const auto start = Clock::now();
  // Rank 0 validates and checkpoints while the others wait for its verdict in the store (not in
  // a collective, so a slow validation or disk cannot trip the group's time-out); every rank
  // then takes the same decisions from the same number.
  double lower_is_better = 0;
  nlohmann::json record;
  if (group_->is_root()) {
    const AveragedWeightsScope averaged(average_.get());
    record = {{"type", "valid"}, {"step", progress_.step}, {"epoch", progress_.epoch + 1}};
    record.update(task_->validate());
    record["seconds"] = std::chrono::duration<double>(Clock::now() - start).count();
    const std::string metric_name = config_.training.early_stopping_metric;
    if (!record.contains(metric_name))
      throw std::runtime_error("training.early_stopping_metric is '" + metric_name + "' but training.valid_bleu is 0");
    const double value = record[metric_name].get<double>();
    lower_is_better = (metric_name == "bleu" || metric_name == "chrf") ? -value : value;
  }
  const std::string key = "valid/" + std::to_string(progress_.step);
  if (!group_->is_root())
    lower_is_better = std::stod(group_->await(key, config_.distributed.checkpoint_timeout_seconds,
                                              "waiting for rank 0's validation and checkpoint"));
  const bool improved = lower_is_better < progress_.best_metric;
  if (improved) {
    progress_.best_metric = lower_is_better;
    progress_.bad_validations = 0;
  } else {
    ++progress_.bad_validations;
  }
  if (schedule_.on_validation(lower_is_better) && group_->is_root()) spdlog::info("validation plateau: learning rate decayed");
  if (group_->is_root()) {
    record["best"] = improved;
    write_metrics(record);
    spdlog::info("validation step {} | loss {:.4f} ppl {:.2f}{}{}{}", progress_.step, record["loss"].get<double>(),
                 record["ppl"].get<double>(),
                 record.contains("bpc") ? fmt::format(" bpc {:.4f}", record["bpc"].get<double>()) : "",
                 record.contains("bleu") ? fmt::format(" | BLEU {:.2f} chrF {:.2f}", record["bleu"].get<double>(),
                                                       record["chrf"].get<double>())
                                         : "",
                 improved ? " | new best" : "");
  }
  checkpoint(lower_is_better);
  if (group_->is_root()) group_->publish(key, fmt::format("{:.17g}", lower_is_better));
  check_parameters_agree("after validation");
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
  if (!group_->is_root()) return;  // every rank keeps the bookkeeping; rank 0 alone writes
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
  group_ = std::make_unique<ProcessGroup>(world_, config_.distributed, device_);
  if (world_.distributed()) {
    // Rank 0 alone writes logs, metrics and checkpoints; the others speak only of trouble.
    spdlog::set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S] [rank {}] [%^%l%$] %v", world_.rank));
    if (!group_->is_root() && spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
    if (config_.task == "lm" && config_.training.lm_mode == "stream")
      throw std::runtime_error("training.lm_mode stream carries one hidden state across all streams, so it trains on "
                               "one process; use lm_mode sentence to train a language model on several");
    spdlog::info("data-parallel training: {}", group_->describe());
    check_same_setup();
  }
  init_ = find_init_model(config_);
  root_first("prepared", [this] { prepare_directory(); });
  std::optional<LogFileMirror> log_mirror;
  if (group_->is_root()) log_mirror.emplace(dir_ + "/train.log");

  torch::manual_seed(static_cast<uint64_t>(config_.training.seed));
  task_ = make_training_task(config_, dir_, device_);
  // A resumed fine-tuning run takes its weights from its own checkpoint instead.
  if (init_ && !(options_.resume && read_pointer(dir_, "latest"))) initialize_from(*init_);
  optimizer_ = make_optimizer(config_.training, task_->module().parameters());
  if (config_.training.ema_decay > 0)
    average_ = std::make_unique<ParameterAverage>(task_->module(), config_.training.ema_decay);
  if (options_.resume) resume();
  check_parameters_agree("at the start");
  if (world_.distributed()) {
    const auto row_sparse = row_sparse_sums_ ? embedding_tables(task_->module()) : std::vector<torch::Tensor>{};
    gradient_sync_ = std::make_unique<GradientSync>(task_->module().parameters(), row_sparse, *group_,
                                                    config_.distributed.bucket_mb);
  }
  if (group_->is_root()) metrics_ = std::make_unique<AppendFile>(metrics_path(dir_));
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
      group_->set_step(progress_.step);
      const StepPlan plan = plan_step();
      const StepAgreement agreed = agree_on_step(plan.tokens);
      if (agreed.stop_signal) {
        // Every rank stops before the same step; rank 0 writes the one checkpoint, and the
        // others wait for it so that no launcher kills rank 0 while it writes.
        bar_.clear();
        checkpoint(std::nullopt);
        const std::string key = "stopped/" + std::to_string(progress_.step);
        if (group_->is_root()) group_->publish(key, "", ProcessGroup::Delivery::confirmed);
        else group_->await(key, config_.distributed.checkpoint_timeout_seconds, "waiting for rank 0's checkpoint");
        spdlog::warn("stopped by signal {} at step {}; checkpoint written, resume with --resume", agreed.stop_signal,
                     progress_.step);
        return 128 + agreed.stop_signal;
      }
      if (agreed.budget_spent) {
        spdlog::info("training.max_minutes ({}) reached at step {}", t.max_minutes, progress_.step);
        finished = true;
        break;
      }
      train_step(plan, agreed);
      ++progress_.position;
      if (log_mirror) log_mirror->check();
      if (group_->is_root())
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
    }
    if (!finished) {
      ++progress_.epoch;
      progress_.position = 0;
    }
  }
  group_->set_step(progress_.step);
  if (progress_.step % t.valid_every != 0) validate_and_checkpoint();
  if (log_mirror) log_mirror->check();
  bar_.clear();
  spdlog::info("training finished at step {} in {}", progress_.step,
               format_duration(training_seconds()));
  return 0;
}

}  // namespace

int train(const Config& config, const TrainOptions& options) { return Trainer(config, options).run(); }

}  // namespace nmt
