#include "text/sentencepiece.hpp"

#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <stdexcept>

namespace nmt {
namespace {

struct Shim {
  void* (*open)(const std::string*, std::string*);
  void (*close)(void*);
  bool (*encode)(void*, const std::string*, std::vector<std::string>*, std::string*);
  bool (*decode)(void*, const std::vector<std::string>*, std::string*, std::string*);
};

const Shim& shim() {
  static const Shim loaded = [] {
    const auto exe_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
    std::string tried;
    void* handle = nullptr;
    for (const auto& candidate : {exe_dir / "libnmt_spm.so", exe_dir / "../lib/libnmt_spm.so"}) {
      handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle) break;
      tried += std::string(tried.empty() ? "" : "; ") + dlerror();
    }
    if (!handle) throw std::runtime_error("cannot load the SentencePiece shim libnmt_spm.so: " + tried);
    auto symbol = [&](const char* name) {
      void* address = dlsym(handle, name);
      if (!address) throw std::runtime_error(std::string("libnmt_spm.so lacks ") + name);
      return address;
    };
    return Shim{reinterpret_cast<decltype(Shim::open)>(symbol("nmt_spm_open")),
                reinterpret_cast<decltype(Shim::close)>(symbol("nmt_spm_close")),
                reinterpret_cast<decltype(Shim::encode)>(symbol("nmt_spm_encode")),
                reinterpret_cast<decltype(Shim::decode)>(symbol("nmt_spm_decode"))};
  }();
  return loaded;
}

}  // namespace

SentencePieceModel::SentencePieceModel(const std::string& model_path) {
  std::string error;
  processor_ = shim().open(&model_path, &error);
  if (!processor_) throw std::runtime_error("cannot load SentencePiece model '" + model_path + "': " + error);
}

SentencePieceModel::~SentencePieceModel() {
  if (processor_) shim().close(processor_);
}

std::vector<std::string> SentencePieceModel::encode(const std::string& text) const {
  std::vector<std::string> pieces;
  std::string error;
  if (!shim().encode(processor_, &text, &pieces, &error)) throw std::runtime_error("SentencePiece encode failed: " + error);
  return pieces;
}

std::string SentencePieceModel::decode(const std::vector<std::string>& pieces) const {
  std::string text, error;
  if (!shim().decode(processor_, &pieces, &text, &error)) throw std::runtime_error("SentencePiece decode failed: " + error);
  return text;
}

void sentencepiece_train(const std::vector<std::string>& args) {
  std::vector<char*> argv{const_cast<char*>("spm_train")};
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t child = 0;
  if (posix_spawnp(&child, "spm_train", nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot run spm_train (install Debian's 'sentencepiece' package: scripts/install-deps.sh)");
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("SentencePiece training (spm_train) failed with status " + std::to_string(status));
}

}  // namespace nmt
