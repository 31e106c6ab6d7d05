#include <spdlog/spdlog.h>

#include "bundle/model_dir.hpp"
#include "cli/commands.hpp"
#include "train/average.hpp"

namespace nmt {
namespace {
struct AverageOptions {
  std::string model, output, which = "last";
  int64_t count = 5;
  std::vector<std::string> checkpoints;
};
}  // namespace

void setup_average(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<AverageOptions>();
  auto* command = app.add_subcommand("average", "average the parameters of several checkpoints into one");
  command->add_option("--model", options->model, "training directory")->required();
  command->add_option("--last", options->count, "average the N newest checkpoints (default 5)");
  command->add_flag("--best{best}", options->which, "take the best checkpoints by validation instead of the newest");
  command->add_option("--checkpoints", options->checkpoints, "explicit checkpoint files instead");
  command->add_option("--output", options->output, "output file (default: MODEL/checkpoints/averaged.pt)");
  command->callback([options, &globals] {
    start_command(globals);
    const auto inputs = options->checkpoints.empty()
                            ? select_checkpoints(options->model, options->which, options->count)
                            : options->checkpoints;
    const std::string output = options->output.empty() ? checkpoint_dir(options->model) + "/averaged.pt" : options->output;
    average_checkpoints(options->model, inputs, output);
    spdlog::info("averaged {} checkpoints into '{}' (use: nmt translate --checkpoint {})", inputs.size(), output, output);
  });
}

}  // namespace nmt
