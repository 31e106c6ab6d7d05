// Every subcommand registers itself with setup_<name>(app, globals).
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace nmt {

struct GlobalOptions {
  int threads = 0;  // 0 = fastest measured default
  std::string log_level = "info";
  std::vector<std::string> overrides;  // --set key.path=value
};

// Applies the global options (threads, log level) and logs the startup line.
void start_command(const GlobalOptions& globals);

void setup_preprocess(CLI::App& app, GlobalOptions& globals);
void setup_config(CLI::App& app, GlobalOptions& globals);
void setup_train(CLI::App& app, GlobalOptions& globals);
void setup_translate(CLI::App& app, GlobalOptions& globals);
void setup_evaluate(CLI::App& app, GlobalOptions& globals);
void setup_info(CLI::App& app, GlobalOptions& globals);
void setup_average(CLI::App& app, GlobalOptions& globals);
void setup_report(CLI::App& app, GlobalOptions& globals);
void setup_generate(CLI::App& app, GlobalOptions& globals);
void setup_serve(CLI::App& app, GlobalOptions& globals);
void setup_shortlist(CLI::App& app, GlobalOptions& globals);

}  // namespace nmt
