#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "bundle/trained_model.hpp"
#include "config/config.hpp"
#include "data/preprocess.hpp"
#include "data/token_streams.hpp"
#include "data/vocab.hpp"
#include "model/language_model.hpp"
#include "model/precision.hpp"
#include "search/prompt.hpp"
#include "search/sampling.hpp"
#include "test_util.hpp"
#include "train/lm_task.hpp"
#include "train/trainer.hpp"

using namespace nmt;
namespace fs = std::filesystem;

namespace {

Sequences random_lines(int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Sequences lines;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<int32_t> line(rng() % 9);  // empty lines included: they are line breaks
    for (auto& id : line) id = 4 + static_cast<int32_t>(rng() % 20);
    lines.push_back(line);
  }
  return lines;
}

ModelConfig tiny_lm_config(const std::string& cell) {
  ModelConfig config;
  config.cell = cell;
  config.attention = "none";
  config.emb_size = 8;
  config.dec_hidden = 12;
  config.dec_layers = 2;
  config.dropout = 0.0;
  return config;
}

// A character-level LM on a small text, preprocessed into `dir`.
Config char_lm_config(const std::string& dir, const std::string& text, const std::vector<std::string>& overrides = {}) {
  fs::create_directories(dir);
  test::write_file(dir + "/train.txt", text);
  test::write_file(dir + "/valid.txt", text.substr(0, text.size() / 3));
  std::vector<std::string> settings = {"task=lm", "data.train.text=" + dir + "/train.txt",
                                       "data.valid.text=" + dir + "/valid.txt", "data.dir=" + dir + "/data",
                                       "data.tokenizer.type=char", "model.cell=lstm", "model.emb_size=8",
                                       "model.dec_hidden=16", "model.dec_layers=2", "model.dropout=0",
                                       "training.dir=" + dir + "/model", "training.batch_size=1", "training.bptt=4",
                                       "training.log_every=1", "training.valid_every=4", "decoding.batch_size=2",
                                       "training.precision=fp32"};
  settings.insert(settings.end(), overrides.begin(), overrides.end());
  Config config = parse_config("", "test", settings);
  preprocess(config, true);
  return config;
}

}  // namespace

TEST(TokenStreams, AnEpochPredictsEveryCorpusTokenExactlyOnce) {
  const Sequences lines = random_lines(300, 5);
  std::vector<int32_t> flat{kEos};
  for (size_t i = 0; i < lines.size(); ++i) {
    flat.insert(flat.end(), lines.data(i), lines.data(i) + lines.length(i));
    flat.push_back(kEos);
  }
  for (const int64_t streams : {1, 7, 64}) {
    const TokenStreams batches(lines, streams);
    ASSERT_EQ(batches.predictions(), static_cast<int64_t>(flat.size()) - 1);
    for (const double jitter : {0.0, 3.0}) {
      const auto windows = window_lengths(batches.length(), 10, jitter, 1, 2);
      int64_t total = 0;
      for (const int64_t length : windows) total += length;
      ASSERT_EQ(total, batches.length());
      std::vector<int> predicted(flat.size(), 0);
      int64_t begin = 0, counted = 0;
      for (const int64_t length : windows) {
        const auto [inputs, targets] = batches.window(begin, length);
        ASSERT_EQ(inputs.size(0), length);
        for (int64_t b = 0; b < batches.streams(); ++b)
          for (int64_t t = 0; t < length; ++t) {
            const int64_t target = targets[t][b].item<int64_t>();
            if (target == kPad) continue;
            const int64_t position = batches.starts()[static_cast<size_t>(b)] + begin + t + 1;  // index into flat
            ASSERT_EQ(target, flat[static_cast<size_t>(position)]);
            ASSERT_EQ(inputs[t][b].item<int64_t>(), flat[static_cast<size_t>(position - 1)]);
            ++predicted[static_cast<size_t>(position)];
          }
        counted += batches.target_tokens(begin, length);
        begin += length;
      }
      EXPECT_EQ(predicted[0], 0);  // the leading EOS is context only
      for (size_t p = 1; p < flat.size(); ++p) ASSERT_EQ(predicted[p], 1) << "position " << p;
      EXPECT_EQ(counted, batches.predictions());
    }
  }
}

TEST(TokenStreams, JitteredWindowsDependOnlyOnSeedAndEpoch) {
  EXPECT_EQ(window_lengths(5000, 50, 5.0, 3, 1), window_lengths(5000, 50, 5.0, 3, 1));
  EXPECT_NE(window_lengths(5000, 50, 5.0, 3, 1), window_lengths(5000, 50, 5.0, 3, 2));
  const auto fixed = window_lengths(105, 50, 0.0, 3, 1);
  EXPECT_EQ(fixed, (std::vector<int64_t>{50, 50, 5}));
}

TEST(TruncatedBptt, GradientsStopAtTheWindowBoundaryWhileTheStateCarries) {
  // One stream, windows of 4: inputs of window 0 are EOS a b c, of window 1 d e f g.
  const auto dir = test::scratch_dir("lm");
  Config config = char_lm_config(dir, "abcdefghij\n");
  fs::create_directories(dir + "/model");
  fs::copy_file(dir + "/data/vocab.text.tsv", dir + "/model/vocab.text.tsv");
  torch::manual_seed(1);
  auto task = make_lm_task(config, dir + "/model", torch::kCPU);
  auto& model = dynamic_cast<LanguageModelImpl&>(task->module());
  const Vocab vocab = Vocab::load(dir + "/data/vocab.text.tsv");
  ASSERT_EQ(task->start_epoch(0), 3);  // 11 predictions: windows of 4, 4, 3
  task->loss(task->examples(0, 0, 1), 1.0);
  const auto carried = task->carried_state().at("h").clone(), carried_cell = task->carried_state().at("c").clone();
  EXPECT_GT(carried.abs().sum().item<double>(), 0.0);
  model.zero_grad();
  const auto second = task->loss(task->examples(1, 0, 1), 1.0);
  second.sum.backward();
  const auto grad = model.decoder()->named_parameters()["embedding.weight"].grad();
  for (const char* only_in_first_window : {"a", "b", "c"})
    EXPECT_EQ(grad[vocab.id(only_in_first_window)].abs().sum().item<double>(), 0.0) << only_in_first_window;
  EXPECT_GT(grad[vocab.id("e")].abs().sum().item<double>(), 0.0);

  // The carried value is exact: window 1 from the carried state equals the second half of one pass.
  torch::NoGradGuard no_grad;
  const auto ids = [&](const std::string& text) {
    std::vector<int64_t> out{kEos};
    for (char c : text) out.push_back(vocab.id(std::string(1, c)));
    return torch::tensor(out, torch::kInt64).reshape({-1, 1});
  };
  auto whole_state = model.start(1, torch::kCPU);
  const auto whole = model.forward(whole_state, ids("abcdefg"));  // (1, 8, V)
  auto split_state = model.start(1, torch::kCPU);
  split_state.rnn.h = carried;
  split_state.rnn.c = carried_cell;
  const auto tail = model.forward(split_state, ids("abcdefg").slice(0, 4));
  EXPECT_TRUE(torch::allclose(tail, whole.slice(1, 4), 1e-5, 1e-6));

  // Control: without the detach, gradient does reach window 0's tokens.
  torch::GradMode::set_enabled(true);
  model.zero_grad();
  auto state = model.start(1, torch::kCPU);
  model.forward(state, ids("abcdefg").slice(0, 0, 4));
  model.forward(state, ids("abcdefg").slice(0, 4)).sum().backward();
  const auto undetached = model.decoder()->named_parameters()["embedding.weight"].grad();
  EXPECT_GT(undetached[vocab.id("a")].abs().sum().item<double>(), 0.0);
}

TEST(Sampling, FixedSeedReproducesAndTemperatureZeroIsGreedy) {
  torch::manual_seed(3);
  LanguageModel model(tiny_lm_config("gru"), 30);
  model->eval();
  torch::InferenceMode inference;
  auto decoder = model->decoder();
  const StepFunction step = [&](DecoderState& state, const torch::Tensor& previous) {
    return decoder->step(state, previous);
  };
  const auto prompted = read_prompt(model, {5, 6, 7}, kEos, torch::kCPU);
  SamplingOptions sampling;
  sampling.max_len = 40;
  sampling.stop_at_eos = false;
  sampling.seed = 11;
  const auto first = sample_tokens(step, prompted.state, prompted.next_input, sampling);
  EXPECT_EQ(first, sample_tokens(step, prompted.state, prompted.next_input, sampling));
  sampling.seed = 12;
  EXPECT_NE(first, sample_tokens(step, prompted.state, prompted.next_input, sampling));

  SearchOptions greedy;
  greedy.max_len_a = 0;
  greedy.max_len_b = 40;
  greedy.start_token = prompted.next_input;
  greedy.stop_at_eos = false;
  DecoderScorer greedy_scorer(step, prompted.state);
  const auto greedy_tokens = greedy_search(greedy_scorer, {0}, greedy).front().front().tokens;
  ASSERT_EQ(greedy_tokens.size(), 40u);
  for (const double temperature : {0.0, 1e-4}) {
    sampling.temperature = temperature;
    EXPECT_EQ(sample_tokens(step, prompted.state, prompted.next_input, sampling), greedy_tokens) << temperature;
  }
  sampling.temperature = 1.0;
  sampling.top_k = 1;
  EXPECT_EQ(sample_tokens(step, prompted.state, prompted.next_input, sampling), greedy_tokens);
  sampling.top_k = 0;
  sampling.top_p = 1e-6;
  EXPECT_EQ(sample_tokens(step, prompted.state, prompted.next_input, sampling), greedy_tokens);
  // Beam search over the same step() with beam 1 is greedy too.
  greedy.beam_size = 1;
  DecoderScorer beam_scorer(step, prompted.state);
  EXPECT_EQ(beam_search(beam_scorer, {0}, greedy).front().front().tokens, greedy_tokens);
}

TEST(Sampling, TopKNeverLeavesTheKMostLikelyTokens) {
  torch::manual_seed(4);
  const auto logits = torch::randn({50});
  const auto allowed = std::get<1>(logits.topk(3));
  SamplingOptions options;
  options.top_k = 3;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(9);
  for (int i = 0; i < 200; ++i) {
    const int64_t token = choose_token(logits, options, generator);
    EXPECT_TRUE((allowed == token).any().item<bool>()) << token;
  }
}

TEST(LanguageModel, PackedSentenceBatchEqualsEachSentenceAlone) {
  torch::manual_seed(5);
  LanguageModel model(tiny_lm_config("lstm"), 30);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto tokens = torch::tensor({2, 5, 6, 7, 8, 2, 9, 10, 0, 0}, torch::kInt64).reshape({2, 5}).t();  // (T=5, B=2)
  const auto lengths = torch::tensor({5, 3}, torch::kInt64);
  auto state = model->start(2, torch::kCPU);
  const auto packed = model->forward(state, tokens, lengths);
  auto alone_state = model->start(1, torch::kCPU);
  const auto alone = model->forward(alone_state, tokens.slice(1, 1, 2).slice(0, 0, 3));
  EXPECT_TRUE(torch::allclose(packed.slice(0, 1, 2).slice(1, 0, 3), alone, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(state.rnn.h.select(1, 1), alone_state.rnn.h.select(1, 0), 1e-5, 1e-6));
}

TEST(LanguageModel, ConfigErrorsNameTheKey) {
  auto error = [](const std::vector<std::string>& settings) {
    try {
      parse_config("", "c.yaml", settings);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error({"task=lm", "model.attention=general"}).find("model.attention"), std::string::npos);
  EXPECT_NE(error({"task=lm", "training.early_stopping_metric=bleu"}).find("training.early_stopping_metric"),
            std::string::npos);
  EXPECT_NE(error({"task=translate"}).find("task"), std::string::npos);
  EXPECT_NE(error({"task=lm", "training.lm_mode=windows"}).find("training.lm_mode"), std::string::npos);
  EXPECT_EQ(parse_config("", "c.yaml", {"task=lm"}).model.attention, "none");
}

TEST(LanguageModel, StreamTrainingResumesBitIdentically) {
  const auto dir = test::scratch_dir("lm");
  const std::string text = "first line of text\nand a second one\n\nthird, after an empty line\n";
  std::string corpus;
  for (int i = 0; i < 20; ++i) corpus += text;
  const std::vector<std::string> settings = {"training.batch_size=4", "training.bptt=8", "training.bptt_jitter=2",
                                             "model.dropout=0.2", "training.max_steps=16", "training.valid_every=6"};
  Config full = char_lm_config(dir + "/full", corpus, settings);
  ASSERT_EQ(train(full, {}), 0);
  Config part = char_lm_config(dir + "/part", corpus, settings);
  part.training.max_steps = 6;
  ASSERT_EQ(train(part, {}), 0);
  part.training.max_steps = 16;
  TrainOptions resume;
  resume.resume = true;
  ASSERT_EQ(train(part, resume), 0);
  const auto expected = test::train_losses(full.training.dir), got = test::train_losses(part.training.dir);
  ASSERT_EQ(expected.size(), 16u);
  EXPECT_EQ(got, expected);
}

TEST(LanguageModelCli, TrainGenerateEvaluate) {
  const auto dir = test::scratch_dir("cli");
  std::string text;
  for (int i = 0; i < 200; ++i) text += "to be or not to be\nthat is the question\n";
  test::write_file(dir + "/train.txt", text);
  test::write_file(dir + "/valid.txt", text.substr(0, 400));
  test::write_file(dir + "/lm.yaml", "task: lm\ndata:\n  train: {text: " + dir + "/train.txt}\n  valid: {text: " + dir +
                                         "/valid.txt}\n  dir: " + dir + "/data\n  tokenizer: {type: char}\n"
                                         "model: {cell: lstm, emb_size: 16, dec_hidden: 48, dec_layers: 1, dropout: 0}\n"
                                         "training: {dir: " + dir + "/model, batch_size: 8, bptt: 32, lr: 0.01, "
                                         "max_steps: 120, valid_every: 60, log_every: 20}\n");
  const std::string nmt = NMT_BINARY;
  std::string output;
  ASSERT_EQ(test::run_command(nmt + " preprocess --config " + dir + "/lm.yaml", &output), 0) << output;
  ASSERT_EQ(test::run_command(nmt + " train --config " + dir + "/lm.yaml", &output), 0) << output;
  ASSERT_EQ(test::run_command(nmt + " generate --model " + dir + "/model --prompt 'that is' --max-len 13 2>/dev/null",
                              &output),
            0)
      << output;
  EXPECT_EQ(output, "that is the question\n") << "greedy continuation of a memorised line";
  std::string first, second;
  const std::string sample = nmt + " generate --model " + dir + "/model --sample --temperature 1.5 --seed 7 --max-len 80 2>/dev/null";
  ASSERT_EQ(test::run_command(sample, &first), 0);
  ASSERT_EQ(test::run_command(sample, &second), 0);
  EXPECT_EQ(first, second);
  EXPECT_GT(first.size(), 40u);
  ASSERT_EQ(test::run_command(nmt + " evaluate --model " + dir + "/model --text " + dir + "/valid.txt --json 2>/dev/null",
                              &output),
            0)
      << output;
  const auto report = nlohmann::json::parse(output);
  EXPECT_LT(report["loss"].get<double>(), 1.0);  // untrained: ln(15) = 2.7
  EXPECT_NEAR(report["bpc"].get<double>(), report["loss"].get<double>() / std::log(2.0), 1e-9);
  EXPECT_EQ(report["tokens"].get<int64_t>(), 400);
  EXPECT_NE(test::run_command("echo hi | " + nmt + " translate --model " + dir + "/model", &output), 0);
  EXPECT_NE(output.find("nmt generate"), std::string::npos) << output;
}

TEST(LanguageModel, OverfitsHelloAndGeneratesItFromTheFirstCharacterInFp32AndBf16) {
  // The seed's first example: a character RNN trained on "hello" generates "hello" from "h".
  for (const std::string precision : {"fp32", "bf16"}) {
    SCOPED_TRACE(precision);
    const auto dir = test::scratch_dir("hello-" + precision);
    Config config = char_lm_config(dir, "hello\n", {"model.cell=gru", "training.bptt=8", "training.lr=0.02",
                                                     "training.max_steps=150", "training.valid_every=150",
                                                     "training.log_every=50", "training.precision=" + precision});
    ASSERT_EQ(train(config, {}), 0);
    TrainedModel loaded = load_trained_model(config.training.dir, "", torch::kCPU);
    torch::InferenceMode inference;
    const PrecisionScope scope(precision_from_name(precision));
    const auto& vocab = loaded.vocabs.tgt;
    auto decoder = loaded.language_model()->decoder();
    const StepFunction step = [&](DecoderState& state, const torch::Tensor& previous) {
      return decoder->step(state, previous);
    };
    const auto prompted = read_prompt(loaded.language_model(), {vocab.id("h")}, kEos, torch::kCPU);
    SamplingOptions greedy;
    greedy.temperature = 0;
    greedy.max_len = 10;
    std::string text = "h";
    for (const int32_t id : sample_tokens(step, prompted.state, prompted.next_input, greedy)) text += vocab.token(id);
    EXPECT_EQ(text, "hello");
  }
}
