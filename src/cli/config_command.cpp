#include <iostream>

#include "cli/commands.hpp"
#include "config/config.hpp"

namespace nmt {

void setup_config(CLI::App& app, GlobalOptions& globals) {
  auto path = std::make_shared<std::string>();
  auto* command = app.add_subcommand("config", "print the fully resolved config (defaults included) as YAML");
  command->add_option("--config", *path, "YAML config (omit to print the defaults)");
  command->callback([path, &globals] {
    const Config config = path->empty() ? parse_config("", "<defaults>", globals.overrides)
                                        : load_config(*path, globals.overrides);
    std::cout << dump_config(config);
  });
}

}  // namespace nmt
