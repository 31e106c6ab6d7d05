#include "train/parameter_average.hpp"

#include <cmath>
#include <unordered_set>

namespace nmt {
namespace {

// Archive entries cannot contain dots, which parameter names use between submodules.
std::string archive_key(std::string name) {
  for (size_t at = name.find('.'); at != std::string::npos; at = name.find('.', at + 2)) name.replace(at, 1, "__");
  return name;
}

// Each parameter once, under an archive-safe name: a tensor shared by two modules counts once.
std::vector<std::pair<std::string, torch::Tensor>> unique_parameters(torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> unique;
  std::unordered_set<const void*> seen;
  for (const auto& item : model.named_parameters())
    if (seen.insert(item.value().unsafeGetTensorImpl()).second) unique.emplace_back(archive_key(item.key()), item.value());
  return unique;
}

// Copies each value into the parameter under the same key; all must be there, with their shapes.
void copy_into(const std::vector<std::pair<std::string, torch::Tensor>>& parameters, const NamedTensors& values,
               const std::string& source) {
  torch::NoGradGuard no_grad;
  for (const auto& [key, parameter] : parameters) {
    const auto found = values.find(key);
    if (found == values.end())
      throw std::runtime_error("'" + source + "' has no training weights for parameter '" + key + "'");
    if (!found->second.sizes().equals(parameter.sizes()))
      throw std::runtime_error("'" + source + "': training weights for '" + key + "' have shape " +
                               c10::str(found->second.sizes()) + ", the model's " + c10::str(parameter.sizes()));
    parameter.detach().copy_(found->second);
  }
}

}  // namespace

ParameterAverage::ParameterAverage(torch::nn::Module& model, double decay)
    : parameters_(unique_parameters(model)), decay_(decay) {
  torch::NoGradGuard no_grad;
  for (const auto& [key, parameter] : parameters_) average_.push_back(parameter.detach().clone());
}

void ParameterAverage::update() {
  TORCH_CHECK(!swapped_in(), "ParameterAverage::update with the average swapped in");
  torch::NoGradGuard no_grad;
  ++updates_;
  // The bias-corrected EMA obeys avg_n = avg_{n-1} + w_n (p_n - avg_{n-1}), w_n = (1-d)/(1-d^n).
  const double weight = (1 - decay_) / (1 - std::pow(decay_, static_cast<double>(updates_)));
  for (size_t i = 0; i < parameters_.size(); ++i) average_[i].lerp_(parameters_[i].second.detach(), weight);
}

void ParameterAverage::swap_in() {
  if (swapped_in()) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    auto& [key, parameter] = parameters_[i];
    live_[key] = parameter.detach().clone();
    parameter.copy_(average_[i]);
  }
}

void ParameterAverage::swap_out() {
  if (!swapped_in()) return;
  torch::NoGradGuard no_grad;
  for (auto& [key, parameter] : parameters_) parameter.copy_(live_.at(key));
  live_.clear();
}

void ParameterAverage::restore(int64_t updates, const NamedTensors& live, const std::string& source) {
  TORCH_CHECK(!swapped_in(), "ParameterAverage::restore with the average swapped in");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) average_[i].copy_(parameters_[i].second);
  updates_ = live.empty() ? 0 : updates;
  if (!live.empty()) copy_into(parameters_, live, source);
}

void load_named_parameters(torch::nn::Module& model, const NamedTensors& values, const std::string& source) {
  copy_into(unique_parameters(model), values, source);
}

}  // namespace nmt
