// `nmt preprocess`: raw parallel text -> vocabularies, encoded splits and a manifest.
#pragma once
#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace nmt {

// Writes everything into a temporary directory and renames it to data.dir at the end.
// Returns the manifest.
nlohmann::json preprocess(const Config& config, bool force);
std::string data_config_hash(const Config& config);
std::string manifest_summary(const nlohmann::json& manifest);

}  // namespace nmt
