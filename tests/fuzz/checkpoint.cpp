// The checkpoint loader on mutated files: a tiny translation model loads each input; a corrupt,
// truncated or foreign file must be an error naming the file, never a crash.
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "bundle/checkpoint.hpp"
#include "config/config.hpp"
#include "fuzz_input.hpp"
#include "model/seq2seq.hpp"

namespace {

// The seed corpus holds checkpoints of this model (tests/fuzz/make_seeds.sh).
nmt::Seq2Seq& tiny_model() {
  static nmt::Seq2Seq model = [] {
    nmt::ModelConfig config = nmt::parse_config("", "fuzz").model;
    config.emb_size = 4;
    config.enc_hidden = 4;
    config.dec_hidden = 6;
    return nmt::Seq2Seq(config, 12, 12);
  }();
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nmt::fuzz::InputFile file(data, size);
  try {
    nmt::read_checkpoint_meta(file.path());
    nmt::load_checkpoint(file.path(), *tiny_model(), nullptr, nlohmann::json::object());
  } catch (const std::runtime_error& e) {
    nmt::fuzz::require(std::string(e.what()).find(file.path()) != std::string::npos, "the error names the file");
  }
  return 0;
}
