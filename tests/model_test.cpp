#include <gtest/gtest.h>

#include "config/config.hpp"
#include "data/batch.hpp"
#include "data/special_tokens.hpp"
#include "model/precision.hpp"
#include "model/seq2seq.hpp"
#include "scoring/translation_loss.hpp"

using namespace nmt;

namespace {

ModelConfig tiny_model(const std::string& cell, const std::string& attention) {
  ModelConfig config = parse_config("", "t").model;
  config.cell = cell;
  config.attention = attention;
  config.emb_size = 8;
  config.enc_hidden = 6;
  config.dec_hidden = 12;
  config.dropout = 0.0;
  return config;
}

// Sentences of different lengths over ids 4..19, targets SOS ... EOS.
ParallelCorpus tiny_corpus() {
  ParallelCorpus corpus;
  corpus.src.push_back({4, 5, 6, 7, 8});
  corpus.src.push_back({9, 10});
  corpus.src.push_back({11, 12, 13});
  corpus.tgt.push_back({kSos, 5, 6, 7, kEos});
  corpus.tgt.push_back({kSos, 9, 9, 10, 11, 12, kEos});
  corpus.tgt.push_back({kSos, 13, kEos});
  return corpus;
}
}  // namespace

TEST(Model, BenchGruParameterCountMatchesReference) {
  // bench-gru from shared/bench/README.md with its Multi30k vocabularies (7,859 de, 5,921 en).
  ModelConfig config = parse_config("model: {cell: gru, emb_size: 256, enc_hidden: 256, dec_hidden: 512, "
                                    "attention: general, bridge: tanh, dropout: 0.2}", "t").model;
  Seq2Seq model(config, 7859, 5921);
  EXPECT_EQ(count_parameters(*model), 9586977);
}

TEST(Model, PackedEncoderEqualsSentenceAlone) {
  torch::manual_seed(3);
  for (const std::string cell : {"rnn", "gru", "lstm"}) {
    ModelConfig config = tiny_model(cell, "general");
    config.enc_layers = 2;
    Seq2Seq model(config, 20, 20);
    model->eval();
    const auto corpus = tiny_corpus();
    const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
    Encoder encoder(config, 20);
    encoder->eval();
    const auto together = encoder->forward(batch.src, batch.src_len);
    for (int64_t column = 0; column < batch.size(); ++column) {
      const int64_t length = batch.src_len[column].item<int64_t>();
      const auto alone_src = batch.src.index({torch::indexing::Slice(0, length), torch::indexing::Slice(column, column + 1)});
      const auto alone = encoder->forward(alone_src, torch::tensor({length}));
      EXPECT_TRUE(torch::allclose(together.memory[column].slice(0, 0, length), alone.memory[0], 1e-5, 1e-6)) << cell;
      EXPECT_TRUE(together.memory[column].slice(0, length).abs().sum().item<float>() == 0.0f) << cell;
      EXPECT_TRUE(torch::allclose(together.final.h.select(1, column), alone.final.h.select(1, 0), 1e-5, 1e-6)) << cell;
    }
  }
}

TEST(Model, EveryCellAndAttentionRunsForwardAndBackward) {
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  for (const std::string cell : {"rnn", "gru", "lstm"}) {
    for (const std::string attention : {"none", "dot", "general", "mlp"}) {
      ModelConfig config = tiny_model(cell, attention);
      if (attention == "dot") config.dec_hidden = 12;  // equals 2 * enc_hidden
      Seq2Seq model(config, 20, 20);
      const auto logits = model->forward(batch);
      ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3, batch.tgt_in.size(0), 20}));
      token_loss_sum(logits, batch.tgt_out).backward();
      for (const auto& parameter : model->named_parameters()) {
        if (parameter.key().find("embedding") != std::string::npos) continue;
        ASSERT_TRUE(parameter.value().grad().defined()) << cell << "/" << attention << " " << parameter.key();
      }
    }
  }
}

TEST(Model, WholeSequencePassEqualsLoopedSteps) {
  torch::manual_seed(5);
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  for (const std::string cell : {"gru", "lstm"}) {
    for (const bool input_feeding : {false, true}) {
      ModelConfig config = tiny_model(cell, "mlp");
      config.input_feeding = input_feeding;
      Seq2Seq model(config, 20, 20);
      model->eval();
      const auto fast = model->forward(batch, 1.0);
      auto state = model->start(batch.src, batch.src_len);
      std::vector<torch::Tensor> steps;
      for (int64_t t = 0; t < batch.tgt_in.size(0); ++t)
        steps.push_back(model->decoder()->step(state, batch.tgt_in[t]).logits);
      EXPECT_TRUE(torch::allclose(fast, torch::stack(steps, 1), 1e-5, 1e-6)) << cell << " input feeding " << input_feeding;
    }
  }
}

TEST(Model, TinyModelOverfitsOneBatch) {
  torch::manual_seed(1);
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  for (const bool input_feeding : {false, true}) {
    ModelConfig config = tiny_model("lstm", "general");
    config.input_feeding = input_feeding;
    config.tie_embeddings = false;
    Seq2Seq model(config, 20, 20);
    torch::optim::Adam adam(model->parameters(), 0.03);
    double loss = 0;
    for (int step = 0; step < 150; ++step) {
      adam.zero_grad();
      auto sum = token_loss_sum(model->forward(batch), batch.tgt_out);
      (sum / batch.target_tokens).backward();
      adam.step();
      loss = sum.item<double>() / batch.target_tokens;
    }
    EXPECT_LT(loss, 0.05) << "input feeding " << input_feeding;
  }
}

TEST(Model, ScheduledSamplingFeedsPredictions) {
  torch::manual_seed(2);
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  Seq2Seq model(tiny_model("gru", "general"), 20, 20);
  model->eval();
  const auto teacher = model->forward(batch, 1.0);
  const auto sampled = model->forward(batch, 0.0);
  EXPECT_TRUE(torch::allclose(teacher.select(1, 0), sampled.select(1, 0)));  // first step sees SOS either way
  EXPECT_FALSE(torch::allclose(teacher, sampled));
}

TEST(Collate, SortsPadsAndShiftsTargets) {
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {1, 0, 2});
  EXPECT_EQ(batch.indices, (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(batch.src_len.device().type(), torch::kCPU);
  EXPECT_EQ(batch.src_len.dtype(), torch::kInt64);
  EXPECT_TRUE(torch::equal(batch.src_len, torch::tensor({5, 3, 2})));
  EXPECT_EQ(batch.src.sizes(), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(batch.src[4][1].item<int64_t>(), kPad);
  EXPECT_EQ(batch.tgt_in[0][0].item<int64_t>(), kSos);
  EXPECT_EQ(batch.tgt_out[3][0].item<int64_t>(), kEos);
  EXPECT_EQ(batch.target_tokens, 4 + 6 + 2);
}

TEST(Model, TiedEmbeddingsShareTheOutputMatrix) {
  ModelConfig config = tiny_model("gru", "general");
  config.emb_size = 12;  // equals dec_hidden
  Seq2Seq untied(config, 20, 20);
  config.tie_embeddings = true;
  Seq2Seq tied(config, 20, 20);
  EXPECT_EQ(count_parameters(*untied) - count_parameters(*tied), 20 * 12);  // no separate output weight
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  token_loss_sum(tied->forward(batch), batch.tgt_out).backward();
  const auto embedding = tied->named_parameters()["decoder.embedding.weight"];
  // Rows of target words that never appear as decoder inputs still get gradient: through the output layer.
  EXPECT_GT(embedding.grad()[19].abs().sum().item<float>(), 0.0f);
}

TEST(Model, TiedAllEmbeddingsReadTheSourceThroughTheTargetMatrix) {
  ModelConfig config = tiny_model("gru", "general");  // emb_size 8
  config.tie_embeddings = true;
  Seq2Seq two_way(config, 20, 20);
  config.tie_all_embeddings = true;
  Seq2Seq three_way(config, 20, 20);
  EXPECT_EQ(count_parameters(*two_way) - count_parameters(*three_way), 20 * 8);  // no source matrix
  auto shared = three_way->named_parameters();
  EXPECT_FALSE(shared.contains("encoder.embedding.weight"));
  // The same model with a source matrix of its own holding the shared rows times sqrt(emb_size)
  // computes the same: the encoder reads the target matrix at unit scale.
  {
    torch::NoGradGuard no_grad;
    for (auto& item : two_way->named_parameters())
      item.value().copy_(item.key() == "encoder.embedding.weight"
                             ? shared["decoder.embedding.weight"] * std::sqrt(8.0)
                             : shared[item.key()]);
  }
  two_way->eval();
  three_way->eval();
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  EXPECT_TRUE(torch::allclose(three_way->forward(batch), two_way->forward(batch), 1e-5, 1e-6));
  // Two vocabularies cannot share one matrix.
  try {
    Seq2Seq(config, 20, 21);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("model.tie_all_embeddings"), std::string::npos) << e.what();
  }
}

TEST(Model, TiedEmbeddingsNarrowerThanTheDecoderReadOutThroughTheAttentionalLayer) {
  torch::manual_seed(7);
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  for (const bool input_feeding : {false, true}) {
    ModelConfig config = tiny_model("gru", "general");  // emb_size 8, dec_hidden 12
    config.input_feeding = input_feeding;
    Seq2Seq untied(config, 20, 20);
    config.tie_embeddings = true;
    Seq2Seq tied(config, 20, 20);
    const auto params = tied->named_parameters();
    EXPECT_EQ(params["decoder.combine.weight"].sizes(), (std::vector<int64_t>{8, 12 + 12}));
    // Untied: output 20x12 + 20 and combine 12x24 + 12; tied: output bias 20 and combine 8x24 + 8;
    // input feeding widens the recurrent input by the attentional width (12 or 8, three gates).
    const int64_t input_feed_saving = input_feeding ? 3 * 12 * (12 - 8) : 0;
    EXPECT_EQ(count_parameters(*untied) - count_parameters(*tied), 20 * 12 + 4 * 24 + 4 + input_feed_saving);
    tied->eval();
    const auto whole = tied->forward(batch, 1.0);
    ASSERT_EQ(whole.sizes(), (std::vector<int64_t>{3, batch.tgt_in.size(0), 20}));
    auto state = tied->start(batch.src, batch.src_len);
    std::vector<torch::Tensor> steps;
    for (int64_t t = 0; t < batch.tgt_in.size(0); ++t)
      steps.push_back(tied->decoder()->step(state, batch.tgt_in[t]).logits);
    EXPECT_TRUE(torch::allclose(whole, torch::stack(steps, 1), 1e-5, 1e-6)) << "input feeding " << input_feeding;
  }
}

TEST(Model, TiedEmbeddingsStartAtTheScaleOfAnOutputLayer) {
  ModelConfig config = tiny_model("gru", "general");
  config.emb_size = config.dec_hidden = 64;
  config.tie_embeddings = true;
  Seq2Seq tied(config, 2000, 2000);
  const auto embedding = tied->named_parameters()["decoder.embedding.weight"];
  EXPECT_NEAR(embedding.slice(0, 1).std().item<double>(), 1.0 / 8.0, 0.01);  // 1/sqrt(emb_size)
  EXPECT_EQ(embedding[kPad].abs().sum().item<float>(), 0.0f);
  // So the first loss is close to uniform guessing, log(vocab), not far above it.
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  const double loss = token_loss_sum(tied->forward(batch), batch.tgt_out).item<double>() / batch.target_tokens;
  EXPECT_LT(loss, std::log(2000.0) + 0.5);
}

TEST(Model, UniformInitStartsEveryWeightInItsRangeAndKeepsPaddingZero) {
  ModelConfig config = tiny_model("lstm", "general");
  config.init_uniform = 0.1;
  Seq2Seq uniform(config, 50, 60);
  for (const auto& item : uniform->named_parameters()) {
    const auto& weight = item.value();
    EXPECT_LE(weight.abs().max().item<double>(), 0.1) << item.key();
    if (weight.numel() >= 100 && item.key().find("embedding") == std::string::npos)
      EXPECT_NEAR(weight.std().item<double>(), 0.1 / std::sqrt(3.0), 0.01) << item.key();  // uniform(-a, a)
  }
  for (const auto* name : {"encoder.embedding.weight", "decoder.embedding.weight"}) {
    const auto embedding = uniform->named_parameters()[name];
    EXPECT_EQ(embedding[kPad].abs().sum().item<float>(), 0.0f) << name;
    EXPECT_NEAR(embedding.slice(0, 1).std().item<double>(), 0.1 / std::sqrt(3.0), 0.01) << name;
  }
  // The default keeps LibTorch's embeddings, N(0, 1).
  Seq2Seq defaults(tiny_model("lstm", "general"), 50, 60);
  EXPECT_GT(defaults->named_parameters()["encoder.embedding.weight"].std().item<double>(), 0.8);
}

// The output layer on real targets only gives the same logits, loss and gradients as the padded
// pass, with and without input feeding.
TEST(Model, LossOnRealTargetsOnlyEqualsThePaddedLoss) {
  const auto corpus = tiny_corpus();
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  ASSERT_EQ(batch.target_positions.numel(), batch.target_tokens);
  for (const bool input_feeding : {false, true}) {
    SCOPED_TRACE(input_feeding ? "input feeding" : "no input feeding");
    torch::manual_seed(5);
    ModelConfig config = tiny_model("gru", "general");
    config.input_feeding = input_feeding;
    config.bidirectional = true;
    Seq2Seq model(config, 20, 20);
    const auto padded = model->forward(batch);
    const auto real = model->forward_targets(batch);
    ASSERT_EQ(real.sizes(), (std::vector<int64_t>{batch.target_tokens, 20}));
    const auto not_pad = batch.tgt_out.t().reshape({-1}).ne(kPad);
    EXPECT_TRUE(torch::allclose(padded.reshape({-1, 20}).index({not_pad}), real, 1e-6, 1e-6));
    std::vector<std::vector<torch::Tensor>> grads;
    for (const bool on_real_targets : {false, true}) {
      model->zero_grad();
      const auto loss = on_real_targets ? translation_loss_sum(model, batch, 1.0, 0.1)
                                        : token_loss_sum(model->forward(batch), batch.tgt_out, 0.1);
      loss.backward();
      grads.emplace_back();
      grads.back().push_back(loss.detach());
      for (const auto& parameter : model->parameters()) grads.back().push_back(parameter.grad().clone());
    }
    for (size_t i = 0; i < grads[0].size(); ++i)
      EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], 1e-5, 1e-6)) << "value " << i;
  }
}

class FusedRecurrent : public ::testing::TestWithParam<std::tuple<std::string, bool>> {
 protected:
  // Runs `forward` (returning the padded outputs and the final state) on the fused path, in
  // `precision`, and on the nn:: module in fp32, and expects the same outputs, final states and
  // gradients of the input, the initial state and every parameter: within 1e-5 in fp32, within
  // 3% of each value's largest magnitude in bf16 (8 significant bits through two layers).
  void expect_fused_matches_module(Recurrent& rnn, const torch::Tensor& x, const RnnState& initial,
                                   const std::function<std::tuple<torch::Tensor, RnnState>()>& forward,
                                   Precision precision = Precision::fp32) {
    const bool lstm = initial.c.defined();
    std::vector<std::vector<torch::Tensor>> results;
    for (const bool fused : {true, false}) {
      set_fused_recurrent_enabled(fused);
      const PrecisionScope scope(fused ? precision : Precision::fp32);
      rnn->zero_grad();
      for (const auto& t : {x, initial.h, initial.c})
        if (t.defined()) t.mutable_grad() = torch::Tensor();
      auto [output, final] = forward();
      torch::manual_seed(1);  // the same loss weights for both paths
      auto loss = (output * torch::randn(output.sizes())).sum() + (final.h * torch::randn(final.h.sizes())).sum();
      if (lstm) loss = loss + (final.c * torch::randn(final.c.sizes())).sum();
      loss.backward();
      std::vector<torch::Tensor> values{output.detach(), final.h.detach(), x.grad(), initial.h.grad()};
      if (lstm) values.insert(values.end(), {final.c.detach(), initial.c.grad()});
      for (const auto& parameter : rnn->parameters()) values.push_back(parameter.grad().clone());
      results.push_back(values);
    }
    set_fused_recurrent_enabled(true);
    ASSERT_EQ(results[0].size(), results[1].size());
    double largest_difference = 0;
    for (size_t i = 0; i < results[0].size(); ++i) {
      const double difference = (results[0][i] - results[1][i]).abs().max().item<double>();
      largest_difference = std::max(largest_difference, difference);
      if (precision == Precision::fp32) {
        EXPECT_TRUE(torch::allclose(results[0][i], results[1][i], 1e-5, 1e-5)) << "value " << i << " max diff " << difference;
      } else {
        EXPECT_LE(difference, 0.03 * results[1][i].abs().max().item<double>() + 1e-4) << "value " << i;
      }
    }
    if (precision == Precision::bf16) {
      EXPECT_GT(largest_difference, 1e-6) << "the fused path did not run in bf16";
    }
  }
};

TEST_P(FusedRecurrent, MatchesTorchModuleForwardAndBackward) {
  torch::manual_seed(0);
  const auto& [cell, bidirectional] = GetParam();
  const int64_t states = bidirectional ? 4 : 2;
  Recurrent rnn(RecurrentOptions{cell, 6, 10, 2, bidirectional, 0.0});
  const auto x = torch::randn({7, 3, 6}, torch::requires_grad());
  const RnnState initial{torch::randn({states, 3, 10}, torch::requires_grad()),
                         cell == "lstm" ? torch::randn({states, 3, 10}, torch::requires_grad()) : torch::Tensor()};
  expect_fused_matches_module(rnn, x, initial, [&] { return rnn->forward(x, initial); });
}

// Packed rows of unsorted lengths, as the decoder packs them, and sorted ones, as the encoder does.
TEST_P(FusedRecurrent, MatchesTorchModuleOnPackedSequences) {
  namespace rnn_utils = torch::nn::utils::rnn;
  torch::manual_seed(0);
  const auto& [cell, bidirectional] = GetParam();
  const int64_t states = bidirectional ? 4 : 2;
  Recurrent rnn(RecurrentOptions{cell, 6, 10, 2, bidirectional, 0.0});
  for (const bool sorted : {false, true}) {
    const auto lengths = sorted ? torch::tensor({7, 5, 5, 2, 1}) : torch::tensor({5, 7, 2, 5, 1});
    const auto x = torch::randn({7, 5, 6}, torch::requires_grad());
    const RnnState initial{torch::randn({states, 5, 10}, torch::requires_grad()),
                           cell == "lstm" ? torch::randn({states, 5, 10}, torch::requires_grad()) : torch::Tensor()};
    SCOPED_TRACE(sorted ? "sorted" : "unsorted");
    expect_fused_matches_module(rnn, x, initial, [&] {
      auto [packed, final] = rnn->forward_packed(rnn_utils::pack_padded_sequence(x, lengths, false, sorted), initial);
      return std::make_tuple(std::get<0>(rnn_utils::pad_packed_sequence(packed, false)), final);
    });
  }
}

TEST_P(FusedRecurrent, InBf16MatchesTorchModuleWithinBf16Precision) {
  namespace rnn_utils = torch::nn::utils::rnn;
  torch::manual_seed(0);
  const auto& [cell, bidirectional] = GetParam();
  const int64_t states = bidirectional ? 4 : 2;
  Recurrent rnn(RecurrentOptions{cell, 6, 10, 2, bidirectional, 0.0});
  const auto lengths = torch::tensor({5, 7, 2, 5, 1});
  const auto x = torch::randn({7, 5, 6}, torch::requires_grad());
  const RnnState initial{torch::randn({states, 5, 10}, torch::requires_grad()),
                         cell == "lstm" ? torch::randn({states, 5, 10}, torch::requires_grad()) : torch::Tensor()};
  expect_fused_matches_module(rnn, x, initial, [&] { return rnn->forward(x, initial); }, Precision::bf16);
  expect_fused_matches_module(
      rnn, x, initial,
      [&] {
        auto [packed, final] = rnn->forward_packed(rnn_utils::pack_padded_sequence(x, lengths, false, false), initial);
        return std::make_tuple(std::get<0>(rnn_utils::pad_packed_sequence(packed, false)), final);
      },
      Precision::bf16);
}

INSTANTIATE_TEST_SUITE_P(Cells, FusedRecurrent,
                         ::testing::Combine(::testing::Values("lstm", "gru"), ::testing::Bool()));
