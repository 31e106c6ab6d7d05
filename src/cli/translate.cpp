#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "search/translator.hpp"
#include "text/line_reader.hpp"

namespace nmt {
namespace {

struct TranslateOptions {
  ModelOptions models;
  std::string input = "-", output = "-", attention_file, device = "cpu";
  int64_t beam = 0, nbest = 1, batch_size = 0;
  bool scores = false, replace_unk = false;
};

void run_translate(const TranslateOptions& options, const GlobalOptions& globals) {
  start_command(globals);
  const torch::Device device(options.device);
  std::vector<TrainedModel> models = load_models(options.models, device, globals.overrides);
  const PrecisionScope precision(decoding_precision(models, device));
  const auto& decoding = models.front().config.decoding;
  SearchOptions search = search_options(decoding);
  if (options.beam > 0) search.beam_size = options.beam;
  search.nbest = options.nbest;
  if (search.nbest > search.beam_size)
    throw std::runtime_error("--nbest " + std::to_string(search.nbest) + " needs --beam of at least that size");
  search.keep_attention = !options.attention_file.empty();
  const int64_t batch_size = options.batch_size > 0 ? options.batch_size : decoding.batch_size;
  Translator translator(weighted_models(models, options.models), search, batch_size, options.replace_unk, device);
  if (models.size() > 1) spdlog::info("ensemble of {} models; decoding settings from '{}'", models.size(), models.front().dir);

  std::ofstream file_out, attention_out;
  if (options.output != "-") {
    file_out.open(options.output);
    if (!file_out) throw std::runtime_error("cannot write '" + options.output + "'");
  }
  std::ostream& out = options.output == "-" ? std::cout : file_out;
  if (!options.attention_file.empty()) attention_out.open(options.attention_file);
  LineReader reader(options.input);
  const auto start = std::chrono::steady_clock::now();
  // Files go in chunks of several batches; from a pipe or terminal, a chunk holds just the
  // lines that have arrived, so each line is translated without waiting for more input.
  const size_t chunk = static_cast<size_t>(batch_size * 16);
  int64_t index = 0;
  std::vector<std::string> lines;
  for (bool more = true; more;) {
    lines.clear();
    std::string line;
    while (lines.size() < chunk && (lines.empty() || reader.ready()) && (more = reader.next(line)))
      lines.push_back(line);
    if (lines.empty()) break;
    for (const auto& translation : translator.translate(lines)) {
      for (const auto& candidate : translation.candidates) {
        if (search.nbest > 1)
          out << index << " ||| " << candidate.text << " ||| " << candidate.score << '\n';
        else if (options.scores)
          out << candidate.score << '\t' << candidate.text << '\n';
        else
          out << candidate.text << '\n';
      }
      if (attention_out.is_open()) {
        const auto& best = translation.candidates.front();
        attention_out << nlohmann::json{{"index", index}, {"src", translation.src_tokens}, {"tgt", best.tokens},
                                        {"attention", best.attention}}
                             .dump()
                      << '\n';
      }
      ++index;
    }
    out.flush();
  }
  if (!out) throw std::runtime_error("write error on '" + options.output + "'");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("translated {} lines in {:.2f} s ({:.1f} lines/s, model loading excluded)", index, seconds,
               index / std::max(seconds, 1e-9));
  if (translator.truncated_lines() > 0)
    spdlog::warn("{} input lines were longer than max_len {} and were truncated", translator.truncated_lines(),
                 models.front().config.data.max_len);
}

}  // namespace

void setup_translate(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<TranslateOptions>();
  auto* command = app.add_subcommand("translate", "translate text with a trained model (greedy or beam search)");
  add_model_options(*command, options->models, "training directory");
  command->add_option("--input", options->input, "input text, plain or .gz (default: stdin)");
  command->add_option("--output", options->output, "output file (default: stdout)");
  command->add_option("--beam", options->beam, "beam size (default: decoding.beam_size; 1 = greedy)")
      ->check(CLI::PositiveNumber);
  command->add_option("--nbest", options->nbest, "print N best ('index ||| text ||| score')")->check(CLI::PositiveNumber);
  command->add_option("--batch-size", options->batch_size, "sentences per batch (default: decoding.batch_size)");
  command->add_flag("--scores", options->scores, "print 'score<TAB>translation'");
  command->add_flag("--replace-unk", options->replace_unk, "replace <unk> with the most-attended source token");
  command->add_option("--attention", options->attention_file, "write attention matrices as JSON lines");
  command->add_option("--device", options->device, "cpu | cuda");
  command->callback([options, &globals] { run_translate(*options, globals); });
}

}  // namespace nmt
