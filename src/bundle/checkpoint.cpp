#include "bundle/checkpoint.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

#include <filesystem>

#include "bundle/archive_integrity.hpp"
#include "config/config.hpp"
#include "runtime/files.hpp"

namespace fs = std::filesystem;

namespace nmt {
namespace {

torch::Tensor cpu_rng_state() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

}  // namespace

void restore_cpu_rng_state(const torch::Tensor& state) {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

namespace {

// Runs `read` on LibTorch's archive reader, which reports a damaged file with c10::Error and,
// from its unpickler, with standard exceptions: both become one error naming the file.
template <typename Read>
void read_damaged_as_error(const std::string& path, const std::string& damage, const Read& read) {
  try {
    read();
  } catch (const c10::Error& e) {
    throw std::runtime_error("checkpoint '" + path + "' is " + damage + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint '" + path + "' is " + damage + ": " + e.what());
  }
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  if (!fs::exists(path)) throw std::runtime_error("checkpoint not found: '" + path + "'");
  require_intact_archive(path);
  torch::serialize::InputArchive archive;
  read_damaged_as_error(path, "corrupt or truncated", [&] { archive.load_from(path); });
  return archive;
}

nlohmann::json meta_of(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue meta;
  bool found = false;
  read_damaged_as_error(path, "corrupt or truncated", [&] { found = archive.try_read("meta", meta); });
  if (!found || !meta.isString()) throw std::runtime_error("'" + path + "' is not an nmt checkpoint (no metadata)");
  auto parsed = nlohmann::json::parse(meta.toStringRef(), nullptr, false);
  if (!parsed.is_object() || (parsed.contains("model_config") && !parsed["model_config"].is_string()))
    throw std::runtime_error("checkpoint '" + path + "' has damaged metadata");
  return parsed;
}

// The model config a checkpoint was written with, with the defaults of keys added since.
std::string model_config_of(const nlohmann::json& meta) {
  const std::string stored = meta.value("model_config", "");
  try {
    return section_with_defaults(stored, "model");
  } catch (const std::exception&) {
    return stored;  // unreadable: compares as different and is shown as it is
  }
}

void check_compatible(const nlohmann::json& found, const nlohmann::json& expected, const std::string& path) {
  nlohmann::json current = found;
  if (found.contains("model_config")) current["model_config"] = model_config_of(found);
  std::string differences;
  for (const char* key : {"task", "model_config", "src_vocab_hash", "tgt_vocab_hash", "text_vocab_hash"}) {
    if (expected.contains(key) && current.value(key, nlohmann::json()) != expected[key])
      differences += std::string(differences.empty() ? "" : ", ") + key;
  }
  if (!differences.empty())
    throw std::runtime_error("checkpoint '" + path + "' does not match this model: " + differences +
                             " differ (checkpoint model config:\n" + found.value("model_config", "?") + ")");
}

void write_named(torch::serialize::OutputArchive& archive, const std::string& key, const NamedTensors& tensors) {
  if (tensors.empty()) return;
  torch::serialize::OutputArchive section;
  for (const auto& [name, tensor] : tensors) section.write(name, tensor.cpu());
  archive.write(key, section);
}

NamedTensors read_named(torch::serialize::InputArchive& archive, const std::string& key) {
  NamedTensors tensors;
  torch::serialize::InputArchive section;
  if (archive.try_read(key, section))
    for (const auto& name : section.keys()) section.read(name, tensors[name]);
  return tensors;
}

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const nlohmann::json& meta, const CarriedState& carried, const NamedTensors& training_weights) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  write_named(archive, "carried", carried);
  write_named(archive, "training_weights", training_weights);
  if (optimizer) {
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  nlohmann::json stamped = meta;
  stamped["torch"] = TORCH_VERSION;  // named when another LibTorch cannot read it
  archive.write("meta", c10::IValue(stamped.dump()));
  archive.write("rng", cpu_rng_state());
  // Serialized in memory: LibTorch's zip writer, given a file, throws from a destructor when the
  // disk fills up, which aborts the process. The bytes then go out through checked writes.
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  write_text_atomically(path, bytes);
}

nlohmann::json read_checkpoint_meta(const std::string& path) {
  auto archive = open_archive(path);
  return meta_of(archive, path);
}

CheckpointContent load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                                  const nlohmann::json& expected_meta) {
  auto archive = open_archive(path);
  CheckpointContent content;
  content.meta = meta_of(archive, path);
  check_compatible(content.meta, expected_meta, path);
  const std::string written_by = content.meta.value("torch", "");
  const std::string damage =
      written_by.empty() || written_by == TORCH_VERSION
          ? "corrupt or incompatible"
          : "corrupt or incompatible (written by an nmt on LibTorch " + written_by + ", read by one on LibTorch " +
                TORCH_VERSION + ": load it with an nmt built on " + written_by + ")";
  read_damaged_as_error(path, damage, [&] {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer) {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
    }
    archive.read("rng", content.rng_state);
    content.carried = read_named(archive, "carried");
    content.training_weights = read_named(archive, "training_weights");
  });
  return content;
}

}  // namespace nmt
