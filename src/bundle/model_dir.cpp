#include "bundle/model_dir.hpp"

#include <algorithm>
#include <filesystem>

#include "data/data_dir.hpp"
#include "runtime/files.hpp"

namespace fs = std::filesystem;

namespace nmt {

std::string model_config_path(const std::string& model_dir) { return model_dir + "/config.yaml"; }

std::string checkpoint_dir(const std::string& model_dir) { return model_dir + "/checkpoints"; }

std::string checkpoint_file(const std::string& model_dir, int64_t step) {
  return checkpoint_dir(model_dir) + "/ckpt-" + std::to_string(step) + ".pt";
}

std::vector<int64_t> checkpoint_steps(const std::string& model_dir) {
  std::vector<int64_t> steps;
  for (const auto& entry : fs::directory_iterator(checkpoint_dir(model_dir))) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= 8 || name.rfind("ckpt-", 0) != 0 || entry.path().extension() != ".pt") continue;
    const std::string digits = name.substr(5, name.size() - 8);
    // Other files a user left there (ckpt-old.pt) are not checkpoints of this run.
    if (digits.size() < 19 && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      steps.push_back(std::stoll(digits));
  }
  std::sort(steps.rbegin(), steps.rend());
  return steps;
}

std::optional<std::string> read_pointer(const std::string& model_dir, const std::string& pointer) {
  const std::string path = model_dir + "/" + pointer;
  if (!fs::exists(path)) return std::nullopt;
  std::string name = read_text_file(path);
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  return checkpoint_dir(model_dir) + "/" + name;
}

void write_pointer(const std::string& model_dir, const std::string& pointer, const std::string& checkpoint_path) {
  write_text_atomically(model_dir + "/" + pointer, fs::path(checkpoint_path).filename().string() + "\n");
}

std::string default_checkpoint(const std::string& model_dir) {
  auto pointer = read_pointer(model_dir, "best");
  if (!pointer) pointer = read_pointer(model_dir, "latest");
  if (!pointer) throw std::runtime_error("model directory '" + model_dir + "' has no checkpoint yet");
  return *pointer;
}

std::optional<std::string> differing_vocabulary(const Config& config, const std::string& data_dir,
                                                const std::string& model_dir) {
  for (const auto& side : vocab_sides(config.task))
    if (read_text_file(vocab_path(model_dir, side)) != read_text_file(vocab_path(data_dir, side))) return side;
  return std::nullopt;
}

nlohmann::json model_identity(const Config& config, const std::string& model_dir) {
  nlohmann::json identity = {{"task", config.task}, {"model_config", dump_section(config, "model")}};
  for (const auto& side : vocab_sides(config.task))
    identity[side + "_vocab_hash"] = fnv1a_hex(read_text_file(vocab_path(model_dir, side)));
  return identity;
}

}  // namespace nmt
