#include "cli/commands.hpp"
#include "config/config.hpp"
#include "distributed/launcher.hpp"
#include "runtime/signals.hpp"
#include "train/trainer.hpp"

namespace nmt {
namespace {
struct TrainCommandOptions {
  std::string config;
  std::string resume;  // "" = no resume; "latest" or a checkpoint path
  bool overwrite = false;
  LaunchOptions launch;
};

// The command line of one worker: this one without the launcher's options.
std::vector<std::string> worker_arguments(const TrainCommandOptions& options, const CLI::App& command,
                                          const GlobalOptions& globals) {
  std::vector<std::string> arguments = {"--log-level", globals.log_level};
  if (globals.threads > 0) arguments.insert(arguments.end(), {"--threads", std::to_string(globals.threads)});
  for (const auto& assignment : globals.overrides) arguments.insert(arguments.end(), {"--set", assignment});
  arguments.insert(arguments.end(), {"train", "--config", options.config});
  if (command.count("--resume")) {
    arguments.push_back("--resume");
    if (options.resume != "latest") arguments.push_back(options.resume);
  }
  if (options.overwrite) arguments.push_back("--overwrite");
  return arguments;
}
}  // namespace

void setup_train(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* command = app.add_subcommand("train", "train an RNN/GRU/LSTM encoder-decoder (or language model) on a preprocessed corpus");
  command->add_option("--config", options->config, "YAML config")->required();
  command->add_option("--resume", options->resume, "continue from the latest checkpoint, or from PATH")
      ->expected(0, 1)
      ->default_str("latest");
  command->add_flag("--overwrite", options->overwrite, "start over in a non-empty training.dir");
  auto* group = command->add_option_group("data-parallel training",
                                          "start worker processes here (as torchrun does); under torchrun, "
                                          "Slurm or Kubernetes set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT instead");
  group->add_option("--nproc-per-node", options->launch.nproc_per_node,
                    "worker processes on this machine, each with its share of the cores")
      ->check(CLI::Range(1, 1024));
  group->add_option("--nnodes", options->launch.nnodes, "machines in the run (default 1)")->check(CLI::Range(1, 1 << 16));
  group->add_option("--node-rank", options->launch.node_rank, "this machine's index in [0, nnodes)")
      ->check(CLI::NonNegativeNumber);
  group->add_option("--master-addr", options->launch.master_addr, "address of node 0, where rank 0 hosts the store")
      ->default_str("127.0.0.1");
  group->add_option("--master-port", options->launch.master_port,
                    "the store's port (default: a free one on one machine, 29500 across machines)")
      ->check(CLI::Range(1, 65535));
  command->callback([options, command, &globals] {
    const bool launcher = command->count("--nproc-per-node") > 0;
    if (!launcher)
      for (const char* name : {"--nnodes", "--node-rank", "--master-addr", "--master-port"})
        if (command->count(name))
          throw std::runtime_error(std::string(name) + " is an option of the launcher: give --nproc-per-node too");
    start_command(globals);
    const Config config = load_config(options->config, globals.overrides);  // errors before any worker starts
    if (launcher) {
      options->launch.threads_given = globals.threads > 0;
      const int code = launch_workers(options->launch, worker_arguments(*options, *command, globals));
      if (code != 0) throw ExitRequest{code, "a worker process failed or was stopped (see its messages above)"};
      return;
    }
    TrainOptions train_options;
    train_options.resume = command->count("--resume") > 0;
    train_options.resume_from = options->resume == "latest" ? "" : options->resume;
    train_options.overwrite = options->overwrite;
    const int code = train(config, train_options);
    if (code != 0) throw ExitRequest{code, "training stopped by a signal; a checkpoint was written"};
  });
}

}  // namespace nmt
