// Where training stands: step, place in the data, early-stopping state and wall time. Every
// checkpoint records it and --resume restores it.
#pragma once
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace nmt {

struct Progress {
  int64_t step = 0, epoch = 0, position = 0;  // position: batches of `epoch` already done
  double best_metric = std::numeric_limits<double>::infinity();  // lower is better
  int64_t bad_validations = 0;
  std::vector<std::pair<double, int64_t>> best_checkpoints;  // (metric, step), best first
  double seconds_before_run = 0;  // training wall time of earlier runs that this one resumed

  // Takes a validation's metric (lower is better): true if it is the best so far; otherwise it
  // counts towards training.patience.
  bool record_validation(double lower_is_better);
  // Ranks the checkpoint of this step among the `keep_best` best by its validation metric.
  void rank_checkpoint(double lower_is_better, int64_t keep_best);
  bool is_best_checkpoint(int64_t step) const;
};

// The checkpoint meta fields of `progress`; `training_seconds` is the total so far.
void write_progress(const Progress& progress, double training_seconds, nlohmann::json& meta);
// Reads them back; throws nlohmann::json's exception when a field is missing.
Progress read_progress(const nlohmann::json& meta);

}  // namespace nmt
