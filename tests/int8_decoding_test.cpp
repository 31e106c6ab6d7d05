// int8 decoding: the int8 products against fp32 on random and trained weights, greedy translations
// against fp32's, batched against one sentence at a time, the command line, and its refusals.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "bundle/trained_model.hpp"
#include "model/int8_weights.hpp"
#include "model/seq2seq.hpp"
#include "search/translator.hpp"
#include "test_util.hpp"
#include "text/line_reader.hpp"
#include "tiny_training.hpp"

using namespace nmt;

namespace {

// The largest error of the int8 product against fp32, relative to the largest fp32 product.
double relative_error(const Int8Matrix& int8, const torch::Tensor& weight, const torch::Tensor& bias,
                      const torch::Tensor& x) {
  const auto exact = torch::nn::functional::linear(x, weight);
  const auto approximate = int8.linear(x) - (bias.defined() ? bias : torch::zeros({weight.size(0)}));
  return ((approximate - exact).abs().max() / exact.abs().max()).item<double>();
}

std::vector<std::string> texts(const std::vector<Translation>& translations) {
  std::vector<std::string> out;
  for (const auto& translation : translations) out.push_back(translation.candidates.front().text);
  return out;
}

}  // namespace

// Tolerance: the int8 product is within 3% of the largest fp32 product (8-bit rows of weights and
// activations, each with its own scale, give about 1%).
TEST(Int8, ProductsMatchFp32OnRandomAndTrainedWeightsAndEachRowIsIndependentOfItsBatch) {
  ASSERT_FALSE(int8_engines().empty());
  torch::manual_seed(3);
  for (const auto& engine : int8_engines()) {
    for (const auto& [out, in] : std::vector<std::pair<int64_t, int64_t>>{{48, 16}, {1536, 256}, {300, 512}}) {
      const auto weight = torch::randn({out, in}) * 0.1, bias = torch::randn({out});
      for (const auto input : {Int8Input::any, Int8Input::bounded}) {
        const Int8Matrix int8(weight, bias, engine, input);
        const std::string what = engine + (input == Int8Input::any ? " any " : " bounded ") + std::to_string(out) +
                                 "x" + std::to_string(in);
        for (const int64_t rows : {1, 5, 64}) {
          // Rows of different magnitudes; bounded rows as tanh gives them.
          const auto x = input == Int8Input::any ? torch::randn({rows, in}) * torch::rand({rows, 1}) * 4
                                                 : torch::tanh(torch::randn({rows, in}) * 2);
          EXPECT_LT(relative_error(int8, weight, bias, x), 0.03) << what << " rows " << rows;
          // Bit for bit, a row alone gives what it gives among others.
          const auto together = int8.linear(x);
          for (int64_t r = 0; r < rows; r += 2)
            EXPECT_TRUE(int8.linear(x.narrow(0, r, 1)).equal(together.narrow(0, r, 1))) << what << " row " << r;
        }
        // A (B, T, in) input keeps its leading dimensions.
        EXPECT_EQ(int8.linear(torch::tanh(torch::randn({2, 3, in}))).sizes(), (std::vector<int64_t>{2, 3, out}));
      }
    }
  }
  // The matrices of a trained model, each against its fp32 product.
  const Config config = test::trained_tiny_model(test::scratch_dir("int8-products"), 40, 40);
  TrainedModel model = load_trained_model(config.training.dir, "", torch::kCPU);
  const Int8Weights weights = model.translation_model()->int8_weights();
  // Encoder (both directions) and decoder GRU (input and hidden), the tanh bridge, attention query,
  // combine, output layer.
  EXPECT_EQ(weights.size(), 2u * 2 + 2 + 1 + 1 + 1 + 1);
  EXPECT_GT(weights.bytes(), 0);
  auto parameters = model.module().named_parameters();
  for (const char* name : {"decoder.combine.weight", "decoder.attention.query_projection.weight", "bridge.projection.weight",
                           "decoder.rnn.rnn.weight_hh_l0", "encoder.rnn.rnn.weight_ih_l0_reverse"})
    EXPECT_TRUE(parameters.contains(name)) << name;
  EXPECT_NE(weights.find(parameters["decoder.combine.weight"], parameters["decoder.combine.bias"]), nullptr);
  EXPECT_NE(weights.find(parameters["bridge.projection.weight"], parameters["bridge.projection.bias"]), nullptr);
  EXPECT_NE(weights.find(parameters["decoder.rnn.rnn.weight_hh_l0"], parameters["decoder.rnn.rnn.bias_hh_l0"]), nullptr);
  // Found with another bias than its own, a matrix refuses rather than add the wrong one.
  EXPECT_THROW(weights.find(parameters["decoder.combine.weight"], {}), std::logic_error);
  weights.for_each([](const torch::Tensor& weight, const torch::Tensor& bias, const Int8Matrix& int8) {
    EXPECT_LT(relative_error(int8, weight, bias, torch::tanh(torch::randn({7, weight.size(1)}))), 0.03) << weight.sizes();
  });
}

TEST(Int8, GreedyTranslationsAgreeWithFp32AndBatchesDoNotChangeThem) {
  // A model that translates the toy task well, in about 20 s. At 600 steps its greedy choices sat so
  // near ties that every int8 engine agreed with fp32 on 95.0% or less (2026-12-06); at 900, on 98%.
  Config config = test::tiny_training_config(test::scratch_dir("int8-decode"));
  config.model.emb_size = 64;
  config.model.enc_hidden = 64;
  config.model.dec_hidden = 128;
  config.training.max_steps = 900;
  config.training.valid_every = 900;
  preprocess(config, false);
  ASSERT_EQ(train(config, {}), 0);
  TrainedModel fp32_model = load_trained_model(config.training.dir, "", torch::kCPU);
  TrainedModel int8_model = load_trained_model(config.training.dir, "", torch::kCPU, {"decoding.precision=int8"});
  prepare_decoding(int8_model);
  ASSERT_NE(int8_model.int8, nullptr);
  const auto sources = test::text_lines(config.data.test.src);
  const auto search = search_options(config.decoding);
  Translator fp32(fp32_model, search, 64, false, torch::kCPU), int8(int8_model, search, 64, false, torch::kCPU);
  const auto fp32_out = fp32.translate(sources), int8_out = int8.translate(sources);
  size_t same = 0, scores_moved = 0;
  for (size_t i = 0; i < sources.size(); ++i) {
    same += fp32_out[i].candidates[0].text == int8_out[i].candidates[0].text;
    scores_moved += fp32_out[i].candidates[0].score != int8_out[i].candidates[0].score;
  }
  EXPECT_GE(same * 100, sources.size() * 95) << same << " of " << sources.size() << " the same";
  EXPECT_GT(scores_moved * 2, sources.size()) << "int8 did not run: the scores are fp32's";
  const auto fp32_texts = texts(fp32_out);
  const auto distinct = std::set<std::string>(fp32_texts.begin(), fp32_texts.end()).size();
  EXPECT_GT(distinct * 2, sources.size()) << "the model must translate, not repeat one output";

  // One sentence at a time gives the same translations and the same scores to the bit, beam search
  // included: the int8 products, the recurrent steps and a step's attention each depend on their own
  // row alone (the whole vocabulary is scored, so the softmax rows match too).
  for (const int64_t beam : {1, 4}) {
    auto options = search;
    options.beam_size = beam;
    Translator batched(int8_model, options, 64, false, torch::kCPU), single(int8_model, options, 1, false, torch::kCPU);
    const std::vector<std::string> some(sources.begin(), sources.begin() + 40);
    const auto a = batched.translate(some), b = single.translate(some);
    for (size_t i = 0; i < some.size(); ++i) {
      EXPECT_EQ(a[i].candidates[0].text, b[i].candidates[0].text) << "beam " << beam << " sentence " << i;
      EXPECT_EQ(a[i].candidates[0].score, b[i].candidates[0].score) << "beam " << beam << " sentence " << i;
    }
  }

  // The command line gives what the in-process int8 search gives.
  std::string output;
  // stdout alone: LibTorch 2.x warns on stderr that its quantized tensors are deprecated.
  ASSERT_EQ(test::run_command(std::string(NMT_BINARY) + " translate --log-level warn --precision int8 --batch-size 64 "
                                  "--model " + config.training.dir + " --input " + config.data.test.src + " 2>/dev/null",
                              &output),
            0)
      << output;
  std::istringstream lines(output);
  std::vector<std::string> command_out;
  for (std::string line; std::getline(lines, line);) command_out.push_back(line);
  EXPECT_EQ(command_out, texts(int8_out));
}

TEST(Int8, RefusesWhatItCannotQuantizeNamingTheModel) {
  const auto dir = test::scratch_dir("int8-refusals");
  Config rnn = test::tiny_training_config(dir + "/rnn");
  rnn.model.cell = "rnn";
  rnn.training.max_steps = 2;
  rnn.training.valid_every = 2;
  preprocess(rnn, false);
  ASSERT_EQ(train(rnn, {}), 0);
  const Config gru = test::trained_tiny_model(dir + "/gru", 2, 2);
  const std::string nmt = NMT_BINARY, input = " --input " + gru.data.valid.src + " --log-level warn";
  std::string output;
  // An ensemble member with the plain RNN cell: named, with the reason.
  EXPECT_EQ(test::run_command(nmt + " translate --precision int8 --model " + gru.training.dir + " --model " +
                                  rnn.training.dir + input, &output), 1);
  EXPECT_NE(output.find("'" + rnn.training.dir + "' cannot decode in int8"), std::string::npos) << output;
  EXPECT_NE(output.find("not the plain 'rnn' cell"), std::string::npos) << output;
  // The fused recurrent layers switched off.
  EXPECT_EQ(test::run_command("NMT_FUSED_RNN=0 " + nmt + " translate --precision int8 --model " + gru.training.dir + input,
                              &output), 1);
  EXPECT_NE(output.find("NMT_FUSED_RNN=0"), std::string::npos) << output;
  // An engine this LibTorch lacks.
  EXPECT_EQ(test::run_command("NMT_INT8_ENGINE=nonesuch " + nmt + " translate --precision int8 --model " +
                                  gru.training.dir + input, &output), 1);
  EXPECT_NE(output.find("NMT_INT8_ENGINE=nonesuch"), std::string::npos) << output;
  // Training has no int8.
  EXPECT_EQ(test::run_command(nmt + " config --set training.precision=int8", &output), 2);
  EXPECT_NE(output.find("training.precision"), std::string::npos) << output;
  // Members in different precisions cannot share one search.
  TrainedModel a = load_trained_model(gru.training.dir, "", torch::kCPU, {"decoding.precision=int8"});
  TrainedModel b = load_trained_model(gru.training.dir, "", torch::kCPU);
  prepare_decoding(a);
  try {
    Translator({{&a, 1.0}, {&b, 1.0}}, {}, 8, false, torch::kCPU);
    ADD_FAILURE() << "a mixed ensemble was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("different precisions"), std::string::npos) << error.what();
  }
}
