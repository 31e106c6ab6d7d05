#include "bundle/trained_model.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "bundle/checkpoint.hpp"
#include "bundle/model_dir.hpp"
#include "data/data_dir.hpp"
#include "model/precision.hpp"

namespace nmt {

TrainedModel::TrainedModel(Config config_, Vocabs vocabs_, Network network)
    : config(std::move(config_)), vocabs(std::move(vocabs_)), network_(std::move(network)) {}

Seq2Seq& TrainedModel::translation_model() {
  if (auto* model = std::get_if<Seq2Seq>(&network_)) return *model;
  throw std::runtime_error("'" + dir + "' holds a task 'lm' model, not 'nmt': use 'nmt generate' or " +
                           "'nmt evaluate --text' for a language model");
}

LanguageModel& TrainedModel::language_model() {
  if (auto* model = std::get_if<LanguageModel>(&network_)) return *model;
  throw std::runtime_error("'" + dir + "' holds a task 'nmt' model, not 'lm': use 'nmt translate' or " +
                           "'nmt evaluate --src --ref' for a translation model");
}

torch::nn::Module& TrainedModel::module() {
  return std::visit([](auto& network) -> torch::nn::Module& { return *network.ptr(); }, network_);
}

TrainedModel load_trained_model(const std::string& dir, const std::string& checkpoint, const torch::Device& device,
                                const std::vector<std::string>& overrides) {
  if (!std::filesystem::is_directory(dir)) throw std::runtime_error("model directory not found: '" + dir + "'");
  const std::string config_path = model_config_path(dir);
  if (!std::filesystem::exists(config_path))
    throw std::runtime_error("'" + dir + "' is not an nmt model directory (no config.yaml)");
  Config config = load_config(config_path, overrides);
  const auto sides = vocab_sides(config.task);
  for (const auto& side : sides)
    if (!std::filesystem::exists(vocab_path(dir, side)))
      throw std::runtime_error("model directory '" + dir + "' has no vocabulary (" + vocab_path(dir, side) + ")");
  Vocabs vocabs = load_vocabs(dir, config.task);
  TrainedModel::Network network = config.task == "lm"
                                      ? TrainedModel::Network(LanguageModel(config.model, vocabs.tgt.size()))
                                      : TrainedModel::Network(Seq2Seq(config.model, vocabs.src.size(), vocabs.tgt.size()));
  TrainedModel loaded(std::move(config), std::move(vocabs), std::move(network));
  loaded.dir = dir;
  loaded.src_tokenizer = load_tokenizer(dir, loaded.config.data.tokenizer, sides.front());
  loaded.tgt_tokenizer = load_tokenizer(dir, loaded.config.data.tokenizer, sides.back());
  loaded.checkpoint = checkpoint.empty() ? default_checkpoint(dir) : checkpoint;
  loaded.meta =
      load_checkpoint(loaded.checkpoint, loaded.module(), nullptr, model_identity(loaded.config, dir)).meta;
  loaded.module().to(device);
  loaded.module().eval();
  return loaded;
}

void prepare_decoding(TrainedModel& model) {
  const DecodingConfig& decoding = model.config.decoding;
  const std::string& dir = model.dir;
  if ((decoding.precision == "int8" || decoding.shortlist) && !model.is_translation_model())
    throw std::runtime_error("'" + dir + "' is a language model: decoding.precision int8 and decoding.shortlist are "
                             "for translation models");
  if (decoding.precision == "int8") {
    const auto parameters = model.module().parameters();
    if (!parameters.empty()) resolve_precision(decoding.precision, parameters.front().device(), "decoding.precision");
    try {
      model.int8 = std::make_shared<const Int8Weights>(model.translation_model()->int8_weights());
    } catch (const std::exception& error) {
      throw std::runtime_error("'" + dir + "' cannot decode in int8: " + error.what());
    }
    spdlog::info("int8: {} matrices, {:.2f} MB, on LibTorch's {} engine; fp32 parameters {:.2f} MB", model.int8->size(),
                 static_cast<double>(model.int8->bytes()) / 1e6, model.int8->engine(),
                 static_cast<double>(count_parameters(model.module()) * 4) / 1e6);
  }
  if (decoding.shortlist) {
    const std::string path = shortlist_path(dir);
    if (!std::filesystem::exists(path))
      throw std::runtime_error("'" + dir + "' has no shortlist (" + path + ") for decoding.shortlist / --shortlist; "
                               "build it with 'nmt shortlist --model " + dir + "'");
    auto list = Shortlist::load(path, model.vocabs);
    if (decoding.shortlist_frequent > list.stored_frequent() || decoding.shortlist_per_source > list.stored_per_source())
      throw std::runtime_error("decoding.shortlist_frequent " + std::to_string(decoding.shortlist_frequent) +
                               " and decoding.shortlist_per_source " + std::to_string(decoding.shortlist_per_source) +
                               " ask for more than '" + path + "' keeps (" + std::to_string(list.stored_frequent()) +
                               " and " + std::to_string(list.stored_per_source()) +
                               "); rebuild it with larger 'nmt shortlist --frequent/--per-source'");
    model.shortlist = std::make_shared<const Shortlist>(std::move(list));
  }
}

}  // namespace nmt
