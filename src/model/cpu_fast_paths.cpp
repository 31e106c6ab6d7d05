#include "model/cpu_fast_paths.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace nmt {
namespace {

// On unless the environment sets `name` to "0".
bool on_unless_zero(const char* name) {
  const char* value = std::getenv(name);
  return !(value && std::strcmp(value, "0") == 0);
}

std::atomic<bool>& fast_paths() {
  static std::atomic<bool> enabled{on_unless_zero("NMT_CPU_FAST_PATHS")};
  return enabled;
}

std::atomic<bool>& fused_recurrent() {
  static std::atomic<bool> enabled{on_unless_zero("NMT_FUSED_RNN")};
  return enabled;
}

}  // namespace

bool cpu_fast_paths_enabled() { return fast_paths(); }
void set_cpu_fast_paths_enabled(bool enabled) { fast_paths() = enabled; }
bool fused_recurrent_enabled() { return fused_recurrent(); }
void set_fused_recurrent_enabled(bool enabled) { fused_recurrent() = enabled; }

}  // namespace nmt
