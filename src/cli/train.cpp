#include "cli/commands.hpp"
#include "config/config.hpp"
#include "runtime/signals.hpp"
#include "train/trainer.hpp"

namespace nmt {
namespace {
struct TrainCommandOptions {
  std::string config;
  std::string resume;  // "" = no resume; "latest" or a checkpoint path
  bool overwrite = false;
};
}  // namespace

void setup_train(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* command = app.add_subcommand("train", "train an RNN/GRU/LSTM encoder-decoder (or language model) on a preprocessed corpus");
  command->add_option("--config", options->config, "YAML config")->required();
  command->add_option("--resume", options->resume, "continue from the latest checkpoint, or from PATH")
      ->expected(0, 1)
      ->default_str("latest");
  command->add_flag("--overwrite", options->overwrite, "start over in a non-empty training.dir");
  command->callback([options, command, &globals] {
    start_command(globals);
    const Config config = load_config(options->config, globals.overrides);
    TrainOptions train_options;
    train_options.resume = command->count("--resume") > 0;
    train_options.resume_from = options->resume == "latest" ? "" : options->resume;
    train_options.overwrite = options->overwrite;
    const int code = train(config, train_options);
    if (code != 0) throw ExitRequest{code, "training stopped by a signal; a checkpoint was written"};
  });
}

}  // namespace nmt
