// SentencePiece through the dlopen()ed shim (see src/spm_shim/spm_shim.cpp for why).
#pragma once
#include <string>
#include <vector>

namespace nmt {

class SentencePieceModel {
 public:
  explicit SentencePieceModel(const std::string& model_path);
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;
  std::vector<std::string> encode(const std::string& text) const;
  std::string decode(const std::vector<std::string>& pieces) const;

 private:
  void* processor_ = nullptr;
};

// Runs Debian's spm_train with these arguments. Training runs in its own process because
// SentencePiece's trainer writes to std::cerr, which is unusable inside the RTLD_DEEPBIND shim.
void sentencepiece_train(const std::vector<std::string>& args);

}  // namespace nmt
