// `nmt shortlist`: builds a model directory's lexical shortlist from its training data and reports its coverage.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

#include "bundle/model_dir.hpp"
#include "bundle/shortlist.hpp"
#include "cli/commands.hpp"
#include "data/data_dir.hpp"
#include "data/encode.hpp"
#include "data/parallel_reader.hpp"

namespace nmt {
namespace {

struct ShortlistOptions {
  std::string model, src, tgt;
  int64_t frequent = 1000, per_source = 100;
};

// Sentence pairs as the model's vocabularies encode them: --src/--tgt through its tokenizers, else
// the preprocessed training split of its config's data directory.
ParallelCorpus training_pairs(const ShortlistOptions& options, const Config& config, const Vocabs& vocabs) {
  if (options.src.empty() != options.tgt.empty()) throw std::runtime_error("--src and --tgt go together");
  if (options.src.empty()) {
    if (!std::filesystem::exists(split_path(config.data.dir, "train", "src")))
      throw std::runtime_error("no preprocessed training data at '" + config.data.dir +
                               "' (data.dir of the model's config); give the parallel text with --src and --tgt");
    return load_split(config.data.dir, "train", vocabs);
  }
  const auto src_tokenizer = load_tokenizer(options.model, config.data.tokenizer, "src");
  const auto tgt_tokenizer = load_tokenizer(options.model, config.data.tokenizer, "tgt");
  ParallelCorpus corpus;
  for_each_pair(options.src, options.tgt, [&](const std::string& src, const std::string& tgt, size_t) {
    corpus.src.push_back(encode_source(src_tokenizer->tokenize(src), vocabs.src, config.data.max_len));
    corpus.tgt.push_back(encode_target(tgt_tokenizer->tokenize(tgt), vocabs.tgt, config.data.max_len));
  });
  return corpus;
}

// How often a reference token is in its sentence's shortlist, and the lists' mean size, on the
// validation split: what decoding.shortlist_frequent and _per_source trade.
void report_coverage(const Shortlist& list, const Config& config, const Vocabs& vocabs) {
  if (!std::filesystem::exists(split_path(config.data.dir, "valid", "src"))) return;
  const ParallelCorpus valid = load_split(config.data.dir, "valid", vocabs);
  std::set<std::pair<int64_t, int64_t>> settings{{list.stored_frequent(), list.stored_per_source()},
                                                 {config.decoding.shortlist_frequent, config.decoding.shortlist_per_source}};
  for (const int64_t frequent : {50, 100, 200, 500})
    for (const int64_t per_source : {10, 25, 50, 100}) settings.insert({frequent, per_source});
  for (const auto& [frequent, per_source] : settings) {
    if (frequent > list.stored_frequent() || per_source > list.stored_per_source()) continue;
    int64_t covered = 0, tokens = 0, size = 0;
    for (size_t i = 0; i < valid.size(); ++i) {
      const auto ids = list.candidates(valid.src.data(i), valid.src.length(i), frequent, per_source);
      size += static_cast<int64_t>(ids.size());
      for (int64_t k = 1; k < valid.tgt.length(i); ++k, ++tokens)  // after SOS, EOS included
        covered += std::binary_search(ids.begin(), ids.end(), valid.tgt.data(i)[k]);
    }
    spdlog::info("valid: frequent {:>3} per source {:>3}: {:.2f}% of reference tokens covered, {:.0f} tokens a sentence",
                 frequent, per_source, 100.0 * static_cast<double>(covered) / std::max<int64_t>(1, tokens),
                 static_cast<double>(size) / std::max<size_t>(1, valid.size()));
  }
}

void run_shortlist(const ShortlistOptions& options, const GlobalOptions& globals) {
  start_command(globals);
  const std::string config_path = model_config_path(options.model);
  if (!std::filesystem::exists(config_path))
    throw std::runtime_error("'" + options.model + "' is not an nmt model directory (no config.yaml)");
  const Config config = load_config(config_path, globals.overrides);
  if (config.task != "nmt") throw std::runtime_error("'" + options.model + "' is a language model: a shortlist is for translation");
  const Vocabs vocabs = load_vocabs(options.model, config.task);
  const ParallelCorpus corpus = training_pairs(options, config, vocabs);
  const Shortlist list = Shortlist::build(corpus, vocabs, options.frequent, options.per_source);
  const std::string path = shortlist_path(options.model);
  list.save(path);
  spdlog::info("wrote '{}' from {} sentence pairs: the {} most frequent target tokens and up to {} per source token",
               path, corpus.size(), options.frequent, options.per_source);
  report_coverage(list, config, vocabs);
}

}  // namespace

void setup_shortlist(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<ShortlistOptions>();
  auto* command = app.add_subcommand(
      "shortlist", "build a model's lexical shortlist (MODEL/shortlist.json) for decoding with --shortlist");
  command->add_option("--model", options->model, "training directory")->required();
  command->add_option("--src", options->src, "source side of the parallel text to count (default: the training split)");
  command->add_option("--tgt", options->tgt, "target side of it");
  command->add_option("--frequent", options->frequent, "most frequent target tokens to keep (default 1000)")
      ->check(CLI::PositiveNumber);
  command->add_option("--per-source", options->per_source, "target tokens to keep per source token (default 100)")
      ->check(CLI::PositiveNumber);
  command->callback([options, &globals] { run_shortlist(*options, globals); });
}

}  // namespace nmt
