// The rules between config keys that one key's range or choices cannot state.
#pragma once
#include "config/config.hpp"

namespace nmt {

// Throws a ConfigError naming the key of the first rule `config` breaks.
void check_combinations(const Config& config);

}  // namespace nmt
