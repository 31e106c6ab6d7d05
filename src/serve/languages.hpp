// The language pair a translation model serves, as LibreTranslate's /languages lists it.
#pragma once
#include <string>

#include "config/config.hpp"

namespace nmt {

struct LanguagePair {
  std::string source, target;  // ISO 639-1 codes, e.g. "de", "en"
};

// data.src_lang / data.tgt_lang, else the last extension of the training files (train.de.gz:
// "de"); throws, naming the keys to set, when neither gives a code.
LanguagePair model_languages(const DataConfig& data);
// The English name of a code ("de": "German"); the code itself when it is not a common one.
std::string language_name(const std::string& code);

}  // namespace nmt
