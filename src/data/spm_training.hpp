// Trains one side's SentencePiece model on (optionally lowercased) training text.
#pragma once
#include <string>
#include <vector>

#include "config/config.hpp"

namespace nmt {

// Writes `<out_dir>/spm.<side>.model` learned from the lines of `sources`.
void train_side_sentencepiece(const std::vector<std::string>& sources, const std::string& out_dir,
                              const std::string& side, const TokenizerConfig& config);

}  // namespace nmt
