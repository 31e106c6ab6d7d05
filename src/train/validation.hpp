// Rank 0's validation: the held-out metrics record, and training.early_stopping_metric as one
// number where lower is better, from which every rank takes the same decisions.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "train/parameter_average.hpp"
#include "train/training_task.hpp"

namespace nmt {

struct Validation {
  nlohmann::json record;  // metrics.jsonl's "valid" record
  double lower_is_better = 0;
};

// Validates the weight average when there is one (`average` may be null).
Validation validate(TrainingTask& task, ParameterAverage* average, const std::string& metric_name, int64_t step,
                    int64_t epoch);

// The validation line of the log.
void log_validation(const nlohmann::json& record, bool improved);

}  // namespace nmt
