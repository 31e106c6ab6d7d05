#include "train/average.hpp"

#include <algorithm>
#include <filesystem>

#include "bundle/checkpoint.hpp"
#include "bundle/model_dir.hpp"
#include "bundle/trained_model.hpp"

namespace nmt {

std::vector<std::string> select_checkpoints(const std::string& model_dir, const std::string& which, int64_t count) {
  std::vector<std::string> chosen;
  if (which == "best") {
    const auto latest = read_pointer(model_dir, "latest");
    if (!latest) throw std::runtime_error("'" + model_dir + "' has no checkpoints");
    const auto best = read_checkpoint_meta(*latest).at("best_checkpoints").get<std::vector<std::pair<double, int64_t>>>();
    for (const auto& [metric, step] : best)
      if (std::filesystem::exists(checkpoint_file(model_dir, step))) chosen.push_back(checkpoint_file(model_dir, step));
  } else {
    for (int64_t step : checkpoint_steps(model_dir)) chosen.push_back(checkpoint_file(model_dir, step));
  }
  if (static_cast<int64_t>(chosen.size()) > count) chosen.resize(static_cast<size_t>(count));
  if (chosen.empty()) throw std::runtime_error("'" + model_dir + "' has no " + which + " checkpoints to average");
  return chosen;
}

void average_checkpoints(const std::string& model_dir, const std::vector<std::string>& inputs, const std::string& output) {
  torch::NoGradGuard no_grad;
  TrainedModel sum = load_trained_model(model_dir, inputs.front(), torch::kCPU);
  auto totals = sum.module().parameters();
  for (size_t i = 1; i < inputs.size(); ++i) {
    TrainedModel other = load_trained_model(model_dir, inputs[i], torch::kCPU);
    const auto parameters = other.module().parameters();
    for (size_t k = 0; k < totals.size(); ++k) totals[k].add_(parameters[k]);
  }
  for (auto& total : totals) total.div_(static_cast<double>(inputs.size()));
  auto meta = sum.meta;
  meta["averaged_from"] = inputs;
  save_checkpoint(output, sum.module(), nullptr, meta);
}

}  // namespace nmt
