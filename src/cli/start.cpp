#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "runtime/environment.hpp"

namespace nmt {

void start_command(const GlobalOptions& globals) {
  spdlog::set_level(spdlog::level::from_str(globals.log_level));
  configure_threads(globals.threads);
  spdlog::info("{}", startup_line());
}

}  // namespace nmt
