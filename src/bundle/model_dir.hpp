// The layout of a trained model's directory (training.dir): config copy, vocabularies and
// tokenizer models, checkpoints and the latest/best pointers. The trainer writes it through
// these functions; everything that reads a trained model finds its files through them.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace nmt {

std::string model_config_path(const std::string& model_dir);
std::string checkpoint_dir(const std::string& model_dir);
std::string checkpoint_file(const std::string& model_dir, int64_t step);
// Steps of the ckpt-<step>.pt files present, newest first.
std::vector<int64_t> checkpoint_steps(const std::string& model_dir);
// `pointer` is "latest" or "best": a text file holding a checkpoint file name.
std::optional<std::string> read_pointer(const std::string& model_dir, const std::string& pointer);
void write_pointer(const std::string& model_dir, const std::string& pointer, const std::string& checkpoint_path);
// What commands load when no checkpoint is named: the best checkpoint, else the latest; throws
// when the directory has none yet.
std::string default_checkpoint(const std::string& model_dir);

// The first side ("src", "tgt" or "text") whose vocabulary in `data_dir` differs from the model's.
std::optional<std::string> differing_vocabulary(const Config& config, const std::string& data_dir,
                                                const std::string& model_dir);
// What a checkpoint must agree on with the model it is loaded into: task, model config and
// vocabulary fingerprints.
nlohmann::json model_identity(const Config& config, const std::string& model_dir);

}  // namespace nmt
