#pragma once
#include <stdexcept>
#include <string>

namespace nmt {
// A user mistake in a config or on the command line; the message names file, key and line.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace nmt
