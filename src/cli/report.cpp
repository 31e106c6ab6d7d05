#include <spdlog/spdlog.h>

#include "bundle/metrics_log.hpp"
#include "cli/commands.hpp"
#include "report/html_report.hpp"
#include "runtime/files.hpp"
#include "search/translator.hpp"
#include "text/line_reader.hpp"

namespace nmt {
namespace {
struct ReportOptions {
  std::string model, output;
  int64_t sentences = 3;
};

void run_report(const ReportOptions& options, const GlobalOptions& globals) {
  start_command(globals);
  const auto metrics = read_metrics(metrics_path(options.model));
  std::vector<AttentionExample> examples;
  TrainedModel model = load_trained_model(options.model, "", torch::kCPU, globals.overrides);
  if (model.is_translation_model() && model.config.model.attention != "none" && options.sentences > 0) {
    std::vector<std::string> lines;
    LineReader reader(model.config.data.valid.src);
    for (std::string line; static_cast<int64_t>(lines.size()) < options.sentences && reader.next(line);)
      if (!line.empty()) lines.push_back(line);
    SearchOptions search;
    search.keep_attention = true;
    Translator translator(model, search, 16, false, torch::kCPU);
    for (const auto& translation : translator.translate(lines)) {
      auto tokens = translation.candidates.front().tokens;
      tokens.push_back("</s>");
      examples.push_back({translation.src_tokens, tokens, translation.candidates.front().attention});
    }
  }
  const std::string output = options.output.empty() ? options.model + "/report.html" : options.output;
  write_text_atomically(output, render_report("nmt report: " + options.model, metrics, examples));
  spdlog::info("wrote '{}' ({} metric records, {} attention examples)", output, metrics.size(), examples.size());
}
}  // namespace

void setup_report(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<ReportOptions>();
  auto* command = app.add_subcommand("report", "write a self-contained HTML report: curves and attention heatmaps");
  command->add_option("--model", options->model, "training directory")->required();
  command->add_option("--output", options->output, "HTML file (default: MODEL/report.html)");
  command->add_option("--sentences", options->sentences, "validation sentences to show attention for");
  command->callback([options, &globals] { run_report(*options, globals); });
}

}  // namespace nmt
