#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "bundle/trained_model.hpp"
#include "cli/commands.hpp"
#include "data/encode.hpp"
#include "model/precision.hpp"
#include "search/prompt.hpp"
#include "search/sampling.hpp"

namespace nmt {
namespace {

struct GenerateOptions {
  std::string model, checkpoint, prompt, device = "cpu";
  int64_t max_len = 200, beam = 0, top_k = 0;
  double temperature = 1.0, top_p = 1.0;
  uint64_t seed = 1;
  bool sample = false;
};

// Text of generated tokens as they arrive: EOS is a line break, and each line is detokenized
// as a whole so subword joining and spacing come out right; only the new suffix is returned.
class IncrementalText {
 public:
  IncrementalText(const Tokenizer& tokenizer, const Vocab& vocab) : tokenizer_(tokenizer), vocab_(vocab) {}
  std::string add(int32_t id) {
    if (id == kEos) {
      line_.clear();
      printed_.clear();
      return "\n";
    }
    line_.push_back(vocab_.token(id));
    const std::string text = tokenizer_.detokenize(line_);
    const bool extends = text.compare(0, printed_.size(), printed_) == 0;
    std::string fresh = extends ? text.substr(printed_.size()) : "\n" + text;  // rare rewrite: start afresh
    printed_ = text;
    return fresh;
  }

 private:
  const Tokenizer& tokenizer_;
  const Vocab& vocab_;
  std::vector<std::string> line_;
  std::string printed_;
};

// Prompt lines become token ids; a stream LM marks each line break in the prompt with EOS.
std::vector<int32_t> encode_prompt(const std::string& prompt, const TrainedModel& model) {
  std::vector<int32_t> ids;
  std::istringstream lines(prompt);
  bool first = true;
  for (std::string line; std::getline(lines, line); first = false) {
    if (!first) ids.push_back(kEos);
    const auto line_ids = lookup_ids(model.tgt_tokenizer->tokenize(line), model.vocabs.tgt);
    ids.insert(ids.end(), line_ids.begin(), line_ids.end());
  }
  if (!prompt.empty() && prompt.back() == '\n') ids.push_back(kEos);
  return ids;
}

void run_generate(const GenerateOptions& options, const GlobalOptions& globals) {
  start_command(globals);
  const torch::Device device(options.device);
  TrainedModel model = load_trained_model(options.model, options.checkpoint, device, globals.overrides);
  prepare_decoding(model);  // refuses what only translation decodes with
  const PrecisionScope precision(resolve_precision(model.config.decoding.precision, device, "decoding.precision"));
  LanguageModel& network = model.language_model();
  torch::InferenceMode inference;
  const bool stream_mode = model.config.training.lm_mode == "stream";
  const auto prompt = encode_prompt(options.prompt, model);
  if (!stream_mode && std::find(prompt.begin(), prompt.end(), kEos) != prompt.end())
    throw std::runtime_error("--prompt: a sentence language model takes a single line");
  auto prompted = read_prompt(network, prompt, stream_mode ? kEos : kSos, device);
  auto decoder = network->decoder();
  const StepFunction step = [&](DecoderState& state, const torch::Tensor& previous) {
    return decoder->step(state, previous);
  };
  IncrementalText text(*model.tgt_tokenizer, model.vocabs.tgt);
  for (const int32_t id : prompt) std::cout << text.add(id);
  if (options.beam > 0) {
    SearchOptions search;
    search.beam_size = options.beam;
    search.max_len_a = 0;
    search.max_len_b = options.max_len;
    search.length_penalty = model.config.decoding.length_penalty;
    search.start_token = prompted.next_input;
    search.stop_at_eos = !stream_mode;
    DecoderScorer scorer(step, prompted.state);
    const auto best = beam_search(scorer, {0}, search).front().front();
    for (const int32_t id : best.tokens) std::cout << text.add(id);
  } else {
    SamplingOptions sampling;
    sampling.max_len = options.max_len;
    sampling.temperature = options.sample ? options.temperature : 0.0;
    sampling.top_k = options.top_k;
    sampling.top_p = options.top_p;
    sampling.seed = options.seed;
    sampling.stop_at_eos = !stream_mode;
    sample_tokens(step, prompted.state, prompted.next_input, sampling,
                  [&](int32_t id) { std::cout << text.add(id) << std::flush; });
  }
  std::cout << '\n';
}

}  // namespace

void setup_generate(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<GenerateOptions>();
  auto* command = app.add_subcommand("generate", "generate text from a language model (task: lm)");
  command->add_option("--model", options->model, "training directory of a language model")->required();
  command->add_option("--checkpoint", options->checkpoint, "a specific checkpoint (default: best)");
  command->add_option("--prompt", options->prompt, "text to continue (default: start of a line)");
  command->add_option("--max-len", options->max_len, "tokens to generate at most")->check(CLI::PositiveNumber);
  command->add_flag("--sample", options->sample, "sample instead of greedy decoding");
  command->add_option("--temperature", options->temperature, "sampling temperature (0 = greedy)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--top-k", options->top_k, "sample among the k most likely tokens (0 = all)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--top-p", options->top_p, "sample within this probability mass (nucleus)")
      ->check(CLI::Range(0.0, 1.0));
  command->add_option("--seed", options->seed, "random seed: the same seed gives the same sample");
  command->add_option("--beam", options->beam, "beam search with this beam size")->check(CLI::PositiveNumber);
  command->add_option("--device", options->device, "cpu | cuda");
  command->callback([options, &globals] {
    if (options->beam > 0 && options->sample) throw CLI::ValidationError("--beam", "cannot be combined with --sample");
    run_generate(*options, globals);
  });
}

}  // namespace nmt
