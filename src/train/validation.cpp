#include "train/validation.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace nmt {

Validation validate(TrainingTask& task, ParameterAverage* average, const std::string& metric_name, int64_t step,
                    int64_t epoch) {
  const auto start = std::chrono::steady_clock::now();
  const AveragedWeightsScope averaged(average);
  Validation validation;
  auto& record = validation.record;
  record = {{"type", "valid"}, {"step", step}, {"epoch", epoch + 1}};
  record.update(task.validate());
  record["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!record.contains(metric_name))
    throw std::runtime_error("training.early_stopping_metric is '" + metric_name + "' but training.valid_bleu is 0");
  const double value = record[metric_name].get<double>();
  validation.lower_is_better = (metric_name == "bleu" || metric_name == "chrf") ? -value : value;
  return validation;
}

void log_validation(const nlohmann::json& record, bool improved) {
  spdlog::info("validation step {} | loss {:.4f} ppl {:.2f}{}{}{}", record["step"].get<int64_t>(),
               record["loss"].get<double>(), record["ppl"].get<double>(),
               record.contains("bpc") ? fmt::format(" bpc {:.4f}", record["bpc"].get<double>()) : "",
               record.contains("bleu") ? fmt::format(" | BLEU {:.2f} chrF {:.2f}", record["bleu"].get<double>(),
                                                     record["chrf"].get<double>())
                                       : "",
               improved ? " | new best" : "");
}

}  // namespace nmt
