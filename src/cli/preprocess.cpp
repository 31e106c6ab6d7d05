#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "bundle/init_model.hpp"
#include "config/config.hpp"
#include "data/preprocess.hpp"

namespace nmt {
namespace {
struct PreprocessOptions {
  std::string config;
  bool force = false;
};

void run_preprocess(const PreprocessOptions& options, const GlobalOptions& globals) {
  start_command(globals);
  const Config config = load_config(options.config, globals.overrides);
  find_init_model(config);  // fine-tuning: the trained model's vocabularies must fit this config
  const auto start = std::chrono::steady_clock::now();
  const auto manifest = preprocess(config, options.force);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << manifest_summary(manifest);
  spdlog::info("preprocessed into '{}' in {:.2f} s", config.data.dir, seconds);
}
}  // namespace

void setup_preprocess(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<PreprocessOptions>();
  auto* command = app.add_subcommand("preprocess", "tokenize parallel (or language-model) text, build vocabularies, encode the corpus");
  command->add_option("--config", options->config, "YAML config")->required();
  command->add_flag("--force", options->force, "replace a data.dir made from a different config");
  command->callback([options, &globals] { run_preprocess(*options, globals); });
}

}  // namespace nmt
