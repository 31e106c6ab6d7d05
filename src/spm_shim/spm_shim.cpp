// A thin shared library around SentencePiece. Debian's libsentencepiece carries its own copy of
// protobuf-lite, which clashes with the libprotobuf that LibTorch loads (a crash at load time).
// nmt therefore never links SentencePiece directly: it dlopen()s this shim with RTLD_DEEPBIND,
// so SentencePiece binds to its own protobuf symbols.
#include <sentencepiece_processor.h>

#include <string>
#include <vector>

extern "C" {

void* nmt_spm_open(const std::string* model, std::string* error) {
  auto* processor = new sentencepiece::SentencePieceProcessor();
  const auto status = processor->Load(*model);
  if (status.ok()) return processor;
  *error = status.ToString();
  delete processor;
  return nullptr;
}

void nmt_spm_close(void* processor) { delete static_cast<sentencepiece::SentencePieceProcessor*>(processor); }

bool nmt_spm_encode(void* processor, const std::string* text, std::vector<std::string>* pieces, std::string* error) {
  const auto status = static_cast<sentencepiece::SentencePieceProcessor*>(processor)->Encode(*text, pieces);
  if (!status.ok()) *error = status.ToString();
  return status.ok();
}

bool nmt_spm_decode(void* processor, const std::vector<std::string>* pieces, std::string* text, std::string* error) {
  const auto status = static_cast<sentencepiece::SentencePieceProcessor*>(processor)->Decode(*pieces, text);
  if (!status.ok()) *error = status.ToString();
  return status.ok();
}
}
