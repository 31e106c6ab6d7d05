#include "bundle/trained_model.hpp"

#include <filesystem>

#include "bundle/checkpoint.hpp"
#include "bundle/model_dir.hpp"
#include "data/data_dir.hpp"

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

}  // namespace nmt
