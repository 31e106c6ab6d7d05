#include "cli/model_options.hpp"

#include <filesystem>

#include "bundle/model_dir.hpp"

namespace fs = std::filesystem;

namespace nmt {

std::pair<std::string, std::string> model_and_checkpoint(const std::string& path) {
  if (!fs::is_regular_file(path)) return {path, ""};
  for (fs::path dir = fs::absolute(path).parent_path(); dir.has_relative_path(); dir = dir.parent_path())
    if (fs::exists(model_config_path(dir.string()))) return {dir.string(), path};
  throw std::runtime_error("--model '" + path + "': a checkpoint file must lie inside a model directory (none of the "
                           "folders above it has a config.yaml)");
}

void add_model_options(CLI::App& command, ModelOptions& options, const std::string& model_help) {
  command.add_option("--model", options.models,
                     model_help + "; a checkpoint file inside one picks that checkpoint; repeat for an ensemble");
  command.add_option("--weights", options.weights, "ensemble: one weight per --model (default: equal)")
      ->check(CLI::PositiveNumber);
  command.add_option("--checkpoint", options.checkpoint, "a specific checkpoint of the one --model (default: best)");
  command.add_option("--precision", options.precision,
                     "matrix products in fp32, bf16, fp16 (CUDA only), int8 (CPU: weights quantized per row at load), "
                     "or auto (bf16 where the CPU has it); default: decoding.precision")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16", "int8", "auto"}));
  command.add_flag("--shortlist", options.shortlist,
                   "score only each sentence's shortlist (the model directory's shortlist.json, from 'nmt shortlist'): "
                   "decoding.shortlist_frequent frequent tokens and decoding.shortlist_per_source per source token");
}

std::vector<TrainedModel> load_models(const ModelOptions& options, const torch::Device& device,
                                      const std::vector<std::string>& overrides) {
  if (options.models.empty()) throw std::runtime_error("--model is required");
  if (!options.checkpoint.empty() && options.models.size() > 1)
    throw std::runtime_error("--checkpoint picks the checkpoint of a single --model; in an ensemble give each "
                             "checkpoint file as a --model");
  if (!options.weights.empty() && options.weights.size() != options.models.size())
    throw std::runtime_error("--weights: " + std::to_string(options.weights.size()) + " weights for " +
                             std::to_string(options.models.size()) + " models; give one per --model");
  std::vector<std::string> settings = overrides;
  if (!options.precision.empty()) settings.push_back("decoding.precision=" + options.precision);
  if (options.shortlist) settings.push_back("decoding.shortlist=true");
  std::vector<TrainedModel> models;
  for (const auto& path : options.models) {
    auto [dir, checkpoint] = model_and_checkpoint(path);
    if (checkpoint.empty()) checkpoint = options.checkpoint;
    models.push_back(load_trained_model(dir, checkpoint, device, settings));
    prepare_decoding(models.back());
  }
  return models;
}

Precision decoding_precision(const std::vector<TrainedModel>& models, const torch::Device& device) {
  return resolve_precision(models.front().config.decoding.precision, device, "decoding.precision");
}

std::vector<WeightedModel> weighted_models(std::vector<TrainedModel>& models, const ModelOptions& options) {
  std::vector<WeightedModel> weighted;
  for (size_t i = 0; i < models.size(); ++i)
    weighted.push_back({&models[i], options.weights.empty() ? 1.0 : options.weights[i]});
  return weighted;
}

}  // namespace nmt
