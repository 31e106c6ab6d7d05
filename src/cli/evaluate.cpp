#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "data/encode.hpp"
#include "data/parallel_reader.hpp"
#include "eval/sacrebleu.hpp"
#include "scoring/lm_loss.hpp"
#include "scoring/translation_loss.hpp"
#include "search/translator.hpp"
#include "text/line_reader.hpp"

namespace nmt {
namespace {

struct EvaluateOptions {
  ModelOptions models;
  std::string src, ref, hyp, text, tokenize = "13a", device = "cpu";
  int64_t beam = 0;
  bool lowercase = false, json = false;
};

// Language model: loss, perplexity (and bits per character) of a text, in the training mode.
void evaluate_language_model(const EvaluateOptions& options, const GlobalOptions& globals) {
  if (options.models.models.size() != 1) throw std::runtime_error("--text needs one --model");
  start_command(globals);
  const torch::Device device(options.device);
  TrainedModel model = std::move(load_models(options.models, device, globals.overrides).front());
  const PrecisionScope precision(resolve_precision(model.config.decoding.precision, device, "decoding.precision"));
  LanguageModel& network = model.language_model();
  Sequences lines;
  LineReader reader(options.text);
  for (std::string line; reader.next(line);) lines.push_back(lookup_ids(model.tgt_tokenizer->tokenize(line), model.vocabs.tgt));
  const auto& config = model.config;
  const LossTotal loss =
      config.training.lm_mode == "stream"
          ? stream_loss(network, TokenStreams(lines, config.decoding.batch_size), config.training.bptt, device)
          : sentence_loss(network, sentence_sequences(lines, config.data.max_len), config.decoding.batch_size,
                          device);
  nlohmann::json report = lm_loss_report(loss, config.data.tokenizer.type == "char");
  report["lines"] = lines.size();
  if (options.json) {
    std::cout << report.dump() << '\n';
    return;
  }
  std::printf("loss = %.4f nats/token, perplexity = %.2f over %lld tokens\n", loss.mean(), loss.perplexity(),
              static_cast<long long>(loss.tokens));
  if (report.contains("bpc")) std::printf("bits per character = %.4f\n", report["bpc"].get<double>());
}

void run_evaluate(const EvaluateOptions& options, const GlobalOptions& globals) {
  if (!options.text.empty()) return evaluate_language_model(options, globals);
  if (options.ref.empty()) throw std::runtime_error("--ref is required");
  if (options.hyp.empty() == options.models.models.empty())
    throw std::runtime_error("give either --hyp (score translations) or --model with --src (translate and score)");
  nlohmann::json report;
  std::vector<std::string> hypotheses, references;
  if (!options.hyp.empty()) {
    for_each_pair(options.hyp, options.ref, [&](const std::string& h, const std::string& r, size_t) {
      hypotheses.push_back(h);
      references.push_back(r);
    });
  } else {
    if (options.src.empty()) throw std::runtime_error("--model needs --src");
    start_command(globals);
    const torch::Device device(options.device);
    std::vector<TrainedModel> models = load_models(options.models, device, globals.overrides);
    const PrecisionScope precision(decoding_precision(models, device));
    std::vector<std::string> sources;
    for_each_pair(options.src, options.ref, [&](const std::string& s, const std::string& r, size_t) {
      sources.push_back(s);
      references.push_back(r);
    });
    const auto& decoding = models.front().config.decoding;
    if (models.size() == 1) {
      // Loss and perplexity are one model's; an ensemble has no single distribution to score.
      TrainedModel& model = models.front();
      ParallelCorpus corpus;
      const int64_t max_len = model.config.data.max_len;
      for (size_t i = 0; i < sources.size(); ++i) {
        const auto src = model.src_tokenizer->tokenize(sources[i]);
        const auto ref = model.tgt_tokenizer->tokenize(references[i]);
        if (src.empty() || ref.empty()) continue;
        corpus.src.push_back(encode_source(src, model.vocabs.src, max_len));
        corpus.tgt.push_back(encode_target(ref, model.vocabs.tgt, max_len));
      }
      const LossTotal loss = corpus_loss(model.translation_model(), corpus, decoding.batch_size, device);
      report["loss"] = loss.mean();
      report["ppl"] = loss.perplexity();
    } else {
      report["models"] = options.models.models;
    }
    SearchOptions search = search_options(decoding);
    if (options.beam > 0) search.beam_size = options.beam;
    const auto start = std::chrono::steady_clock::now();
    Translator translator(weighted_models(models, options.models), search, decoding.batch_size, false, device);
    for (const auto& translation : translator.translate(sources)) hypotheses.push_back(translation.candidates.front().text);
    report["decode_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report["beam"] = search.beam_size;
  }
  ScoreOptions score_options{options.tokenize, options.lowercase};
  const BleuResult bleu = corpus_bleu(hypotheses, references, score_options);
  report["bleu"] = bleu.score;
  report["chrf"] = corpus_chrf(hypotheses, references);
  report["signature"] = bleu_signature(score_options);
  report["sentences"] = hypotheses.size();
  size_t exact = 0;
  for (size_t i = 0; i < hypotheses.size(); ++i) exact += hypotheses[i] == references[i];
  report["exact_match"] = hypotheses.empty() ? 0.0 : 100.0 * static_cast<double>(exact) / hypotheses.size();
  report["counts"] = bleu.counts;
  report["totals"] = bleu.totals;
  report["precisions"] = bleu.precisions;
  report["bp"] = bleu.brevity_penalty;
  report["sys_len"] = bleu.sys_len;
  report["ref_len"] = bleu.ref_len;
  if (options.json) {
    std::cout << report.dump() << '\n';
    return;
  }
  std::printf("BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld)\n", bleu.score,
              bleu.precisions[0], bleu.precisions[1], bleu.precisions[2], bleu.precisions[3], bleu.brevity_penalty,
              bleu.ref_len ? static_cast<double>(bleu.sys_len) / bleu.ref_len : 0.0,
              static_cast<long long>(bleu.sys_len), static_cast<long long>(bleu.ref_len));
  std::printf("chrF2 = %.2f\nsignature: %s\nsentences: %zu, exact matches: %.2f%%\n", report["chrf"].get<double>(),
              report["signature"].get<std::string>().c_str(), hypotheses.size(), report["exact_match"].get<double>());
  if (report.contains("loss"))
    std::printf("loss = %.4f nats/token, perplexity = %.2f\n", report["loss"].get<double>(), report["ppl"].get<double>());
}

}  // namespace

void setup_evaluate(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<EvaluateOptions>();
  auto* command = app.add_subcommand(
      "evaluate", "BLEU/chrF (sacreBLEU-identical), loss and perplexity; loss, perplexity and bits/char of a language model");
  add_model_options(*command, options->models, "training directory: translate --src and score it");
  command->add_option("--src", options->src, "source text to translate");
  command->add_option("--ref", options->ref, "reference translations");
  command->add_option("--hyp", options->hyp, "existing translations to score (no model needed)");
  command->add_option("--text", options->text, "language model: text to compute loss, perplexity and bits/char on");
  command->add_option("--beam", options->beam, "beam size (default: decoding.beam_size)")->check(CLI::PositiveNumber);
  command->add_option("--tokenize", options->tokenize, "BLEU tokenizer, as sacreBLEU")
      ->check(CLI::IsMember({"13a", "none"}));
  command->add_flag("--lowercase", options->lowercase, "case-insensitive BLEU, as sacreBLEU -lc");
  command->add_flag("--json", options->json, "print one JSON object");
  command->add_option("--device", options->device, "cpu | cuda");
  command->callback([options, &globals] { run_evaluate(*options, globals); });
}

}  // namespace nmt
