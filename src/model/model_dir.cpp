#include "model/model_dir.hpp"

#include <filesystem>

#include "data/data_dir.hpp"
#include "runtime/files.hpp"
#include "train/checkpoint.hpp"

namespace nmt {

nlohmann::json model_identity(const Config& config, const std::string& vocab_dir) {
  nlohmann::json identity = {{"task", config.task}, {"model_config", dump_section(config, "model")}};
  for (const auto& side : vocab_sides(config.task))
    identity[side + "_vocab_hash"] = fnv1a_hex(read_text_file(vocab_path(vocab_dir, side)));
  return identity;
}

void require_task(const LoadedModel& loaded, const std::string& task, const std::string& dir,
                  const std::string& use_instead) {
  if (loaded.config.task != task)
    throw std::runtime_error("'" + dir + "' holds a task '" + loaded.config.task + "' model, not '" + task + "': " +
                             use_instead);
}

LoadedModel load_model_dir(const std::string& dir, const std::string& checkpoint, const torch::Device& device,
                           const std::vector<std::string>& overrides) {
  if (!std::filesystem::is_directory(dir)) throw std::runtime_error("model directory not found: '" + dir + "'");
  const std::string config_path = dir + "/config.yaml";
  if (!std::filesystem::exists(config_path))
    throw std::runtime_error("'" + dir + "' is not an nmt model directory (no config.yaml)");
  LoadedModel loaded;
  loaded.config = load_config(config_path, overrides);
  const auto sides = vocab_sides(loaded.config.task);
  for (const auto& side : sides)
    if (!std::filesystem::exists(vocab_path(dir, side)))
      throw std::runtime_error("model directory '" + dir + "' has no vocabulary (" + vocab_path(dir, side) + ")");
  loaded.vocabs = load_vocabs(dir, loaded.config.task);
  loaded.src_tokenizer = load_tokenizer(dir, loaded.config.data.tokenizer, sides.front());
  loaded.tgt_tokenizer = load_tokenizer(dir, loaded.config.data.tokenizer, sides.back());
  loaded.checkpoint = checkpoint;
  if (loaded.checkpoint.empty()) {
    auto pointer = read_pointer(dir, "best");
    if (!pointer) pointer = read_pointer(dir, "latest");
    if (!pointer) throw std::runtime_error("model directory '" + dir + "' has no checkpoint yet");
    loaded.checkpoint = *pointer;
  }
  if (loaded.config.task == "lm")
    loaded.language_model = build_language_model(loaded.config.model, loaded.vocabs.tgt);
  else
    loaded.model = build_model(loaded.config.model, loaded.vocabs);
  loaded.meta = load_checkpoint(loaded.checkpoint, loaded.module(), nullptr, model_identity(loaded.config, dir)).meta;
  loaded.module().to(device);
  loaded.module().eval();
  return loaded;
}

}  // namespace nmt
