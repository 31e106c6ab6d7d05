// The model options of the commands that decode (translate, evaluate): one --model, or several
// for an ensemble, each a model directory or one of its checkpoint files, with --weights.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "bundle/trained_model.hpp"
#include "model/precision.hpp"
#include "search/translator.hpp"

namespace nmt {

struct ModelOptions {
  std::vector<std::string> models;
  std::vector<double> weights;  // empty: equal weights
  std::string checkpoint;       // one model only
  std::string precision;        // of the matrix products; empty: decoding.precision
  bool shortlist = false;       // sets decoding.shortlist
};

// A --model: a directory, or a checkpoint file inside one, which names its directory (the nearest
// folder above it with a config.yaml). Returns the directory and the checkpoint (empty: default).
std::pair<std::string, std::string> model_and_checkpoint(const std::string& path);
void add_model_options(CLI::App& command, ModelOptions& options, const std::string& model_help);
// Loads every --model (decoding settings, --precision, --shortlist and --set overrides apply to
// each) and prepares each for decoding (int8 matrices, shortlist).
std::vector<TrainedModel> load_models(const ModelOptions& options, const torch::Device& device,
                                      const std::vector<std::string>& overrides);
// The precision to decode in: --precision, else the first model's decoding.precision.
Precision decoding_precision(const std::vector<TrainedModel>& models, const torch::Device& device);
// The loaded models with their --weights, for the Translator.
std::vector<WeightedModel> weighted_models(std::vector<TrainedModel>& models, const ModelOptions& options);

}  // namespace nmt
