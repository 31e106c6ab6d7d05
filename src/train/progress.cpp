#include "train/progress.hpp"

#include <algorithm>

namespace nmt {

bool Progress::record_validation(double lower_is_better) {
  const bool improved = lower_is_better < best_metric;
  if (improved) {
    best_metric = lower_is_better;
    bad_validations = 0;
  } else {
    ++bad_validations;
  }
  return improved;
}

void Progress::rank_checkpoint(double lower_is_better, int64_t keep_best) {
  best_checkpoints.emplace_back(lower_is_better, step);
  std::stable_sort(best_checkpoints.begin(), best_checkpoints.end());
  if (static_cast<int64_t>(best_checkpoints.size()) > std::max<int64_t>(1, keep_best)) best_checkpoints.pop_back();
}

bool Progress::is_best_checkpoint(int64_t checkpoint_step) const {
  return std::any_of(best_checkpoints.begin(), best_checkpoints.end(),
                     [&](const auto& best) { return best.second == checkpoint_step; });
}

void write_progress(const Progress& progress, double training_seconds, nlohmann::json& meta) {
  meta["step"] = progress.step;
  meta["epoch"] = progress.epoch;
  meta["position"] = progress.position;
  meta["best_metric"] = progress.best_metric;
  meta["bad_validations"] = progress.bad_validations;
  meta["best_checkpoints"] = progress.best_checkpoints;
  meta["training_seconds"] = training_seconds;
}

Progress read_progress(const nlohmann::json& meta) {
  Progress progress;
  progress.step = meta.at("step");
  progress.epoch = meta.at("epoch");
  progress.position = meta.at("position");
  // JSON has no infinity: a run without a validation yet stored null.
  progress.best_metric = meta.at("best_metric").is_null() ? std::numeric_limits<double>::infinity()
                                                          : meta.at("best_metric").get<double>();
  progress.bad_validations = meta.at("bad_validations");
  progress.best_checkpoints = meta.at("best_checkpoints").get<std::vector<std::pair<double, int64_t>>>();
  progress.seconds_before_run = meta.value("training_seconds", 0.0);
  return progress;
}

}  // namespace nmt
