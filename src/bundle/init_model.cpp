#include "bundle/init_model.hpp"

#include <filesystem>

#include "bundle/model_dir.hpp"

namespace fs = std::filesystem;

namespace nmt {
namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += "\n  " + line;
  return text;
}

}  // namespace

std::optional<InitModel> find_init_model(const Config& config) {
  const auto& t = config.training;
  if (t.init_from.empty()) return std::nullopt;
  const std::string where = "training.init_from '" + t.init_from + "'";
  if (!fs::is_directory(t.init_from)) throw std::runtime_error(where + ": no such model directory");
  if (!fs::exists(model_config_path(t.init_from)))
    throw std::runtime_error(where + " is not an nmt model directory (no config.yaml)");
  InitModel init{t.init_from, t.init_checkpoint, load_config(model_config_path(t.init_from))};
  if (init.config.task != config.task)
    throw std::runtime_error(where + " holds a task '" + init.config.task + "' model; this config's task is '" +
                             config.task + "'");
  if (const auto keys = differing_settings(config, init.config, "model"); !keys.empty())
    throw std::runtime_error(where + ": the model section must be the trained model's; these keys differ (this "
                             "config vs the model):" + joined(keys));
  std::vector<std::string> tokenization;
  const auto compare = [&](const std::string& key, const auto& mine, const auto& theirs) {
    if (mine != theirs) tokenization.push_back(key);
  };
  compare("data.tokenizer.type", config.data.tokenizer.type, init.config.data.tokenizer.type);
  compare("data.tokenizer.lowercase", config.data.tokenizer.lowercase, init.config.data.tokenizer.lowercase);
  compare("data.vocab.shared", config.data.vocab.shared, init.config.data.vocab.shared);
  if (!tokenization.empty()) {
    std::string keys;
    for (const auto& key : tokenization) keys += (keys.empty() ? "" : ", ") + key;
    throw std::runtime_error(where + ": the new data is encoded with the trained model's vocabularies and tokenizer, "
                             "so " + keys + " must be as in '" + model_config_path(t.init_from) + "'");
  }
  if (init.checkpoint.empty()) {
    init.checkpoint = default_checkpoint(init.dir);
  } else if (!fs::exists(init.checkpoint)) {
    throw std::runtime_error("training.init_checkpoint '" + init.checkpoint + "': no such file");
  }
  return init;
}

}  // namespace nmt
