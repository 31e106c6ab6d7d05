// Language-model data (task: lm): one text file per split -> a vocabulary and one id sequence
// per line, without specials. Lines are kept whole, empty ones included, because in stream
// mode every line end is a token (EOS) of the stream.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "config/config.hpp"

namespace nmt {

// Writes vocab.text.tsv (and spm.text.model) plus <split>.text.bin into `out_dir`; returns the
// manifest's vocab and splits entries.
nlohmann::json encode_text_splits(const Config& config, const std::string& out_dir);
std::string text_manifest_summary(const nlohmann::json& manifest);

}  // namespace nmt
