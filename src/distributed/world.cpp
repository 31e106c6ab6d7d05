#include "distributed/world.hpp"

#include <cstdlib>
#include <optional>
#include <stdexcept>

namespace nmt {
namespace {

std::optional<std::string> variable(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

int integer_variable(const char* name, int min, int max, std::optional<int> fallback) {
  const auto text = variable(name);
  if (!text) {
    if (fallback) return *fallback;
    throw std::runtime_error(std::string("environment variable ") + name + " is not set; a run of WORLD_SIZE > 1 needs it");
  }
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text->size() || value < min || value > max)
    throw std::runtime_error(std::string("environment variable ") + name + "='" + *text + "' is not an integer in [" +
                             std::to_string(min) + ", " + std::to_string(max) + "]");
  return static_cast<int>(value);
}

}  // namespace

World world_from_environment() {
  World world;
  world.size = integer_variable("WORLD_SIZE", 1, 1 << 20, 1);
  if (world.size == 1) return world;
  world.rank = integer_variable("RANK", 0, world.size - 1, std::nullopt);
  world.local_size = integer_variable("LOCAL_WORLD_SIZE", 1, world.size, world.size);
  world.local_rank = integer_variable("LOCAL_RANK", 0, world.local_size - 1, world.rank % world.local_size);
  world.master_port = integer_variable("MASTER_PORT", 1, 65535, std::nullopt);
  const auto addr = variable("MASTER_ADDR");
  if (!addr) throw std::runtime_error("environment variable MASTER_ADDR is not set; a run of WORLD_SIZE > 1 needs it");
  world.master_addr = *addr;
  const auto agent = variable("TORCHELASTIC_USE_AGENT_STORE");
  world.agent_store = agent && (*agent == "True" || *agent == "true" || *agent == "1");
  world.restart_count = integer_variable("TORCHELASTIC_RESTART_COUNT", 0, 1 << 20, 0);
  return world;
}

}  // namespace nmt
