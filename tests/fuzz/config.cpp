// The YAML config loader with --set overrides: the bytes up to the first NUL are the YAML text,
// each line after it one override. Bad input must give a ConfigError; a config that loads
// dumps to YAML that loads back to the same config.
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string yaml = input.substr(0, nul);
  std::vector<std::string> overrides;
  if (nul != std::string::npos) {
    std::string line;
    for (size_t i = nul + 1; i <= input.size(); ++i) {
      if (i == input.size() || input[i] == '\n') {
        if (!line.empty()) overrides.push_back(line);
        line.clear();
      } else {
        line += input[i];
      }
    }
  }
  nmt::Config config;
  try {
    config = nmt::parse_config(yaml, "fuzz.yaml", overrides);
  } catch (const nmt::ConfigError&) {
    return 0;
  }
  const std::string dumped = nmt::dump_config(config);
  nmt::fuzz::require(nmt::dump_config(nmt::parse_config(dumped, "dumped.yaml")) == dumped,
                     "a loaded config dumps to YAML that loads back to the same config");
  return 0;
}
