#include "model/model_dir.hpp"

#include <filesystem>

#include "data/data_dir.hpp"
#include "runtime/files.hpp"
#include "train/checkpoint.hpp"

namespace nmt {

nlohmann::json model_identity(const Config& config, const std::string& vocab_dir) {
  return {{"task", "nmt"},
          {"model_config", dump_section(config, "model")},
          {"src_vocab_hash", fnv1a_hex(read_text_file(vocab_path(vocab_dir, "src")))},
          {"tgt_vocab_hash", fnv1a_hex(read_text_file(vocab_path(vocab_dir, "tgt")))}};
}

LoadedModel load_model_dir(const std::string& dir, const std::string& checkpoint, const torch::Device& device,
                           const std::vector<std::string>& overrides) {
  if (!std::filesystem::is_directory(dir)) throw std::runtime_error("model directory not found: '" + dir + "'");
  const std::string config_path = dir + "/config.yaml";
  if (!std::filesystem::exists(config_path))
    throw std::runtime_error("'" + dir + "' is not an nmt model directory (no config.yaml)");
  for (const char* side : {"src", "tgt"})
    if (!std::filesystem::exists(vocab_path(dir, side)))
      throw std::runtime_error("model directory '" + dir + "' has no vocabulary (" + vocab_path(dir, side) + ")");
  LoadedModel loaded;
  loaded.config = load_config(config_path, overrides);
  loaded.vocabs = load_vocabs(dir);
  loaded.src_tokenizer = load_tokenizer(dir, loaded.config.data.tokenizer, "src");
  loaded.tgt_tokenizer = load_tokenizer(dir, loaded.config.data.tokenizer, "tgt");
  loaded.checkpoint = checkpoint;
  if (loaded.checkpoint.empty()) {
    auto pointer = read_pointer(dir, "best");
    if (!pointer) pointer = read_pointer(dir, "latest");
    if (!pointer) throw std::runtime_error("model directory '" + dir + "' has no checkpoint yet");
    loaded.checkpoint = *pointer;
  }
  loaded.model = build_model(loaded.config.model, loaded.vocabs);
  loaded.meta = load_checkpoint(loaded.checkpoint, loaded.model, nullptr, model_identity(loaded.config, dir)).meta;
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

}  // namespace nmt
