// The output layer fused with the cross-entropy in bf16 against the two steps apart (the bf16
// product, then the float loss rows): the same loss and gradients, on any thread count.
#include <gtest/gtest.h>

#include "data/batch.hpp"
#include "data/special_tokens.hpp"
#include "model/precision.hpp"
#include "random_seq2seq.hpp"
#include "scoring/cross_entropy.hpp"
#include "scoring/output_cross_entropy.hpp"
#include "scoring/translation_loss.hpp"

using namespace nmt;

namespace {

struct LossAndGrads {
  torch::Tensor loss;
  std::vector<torch::Tensor> grads;
};

// Runs `loss_of` on fresh leaves copied from `inputs` and backpropagates half the loss.
template <typename LossFn>
LossAndGrads run(const std::vector<torch::Tensor>& inputs, LossFn&& loss_of) {
  std::vector<torch::Tensor> leaves;
  for (const auto& t : inputs) leaves.push_back(t.detach().clone().requires_grad_());
  const auto loss = loss_of(leaves);
  (loss * 0.5).backward();
  LossAndGrads out{loss.detach(), {}};
  for (const auto& leaf : leaves) out.grads.push_back(leaf.grad());
  return out;
}

// The gradients pass through bf16 once (rounded to 8 significant bits) on both sides; where the
// vectorized exp of one side differs from the other's in its last bit, a value may round to the
// neighbouring bf16, so they agree within one part in 128 of the largest gradient.
void expect_close(const LossAndGrads& fused, const LossAndGrads& apart) {
  EXPECT_NEAR(fused.loss.item<double>(), apart.loss.item<double>(), 1e-5 * std::abs(apart.loss.item<double>()));
  ASSERT_EQ(fused.grads.size(), apart.grads.size());
  for (size_t i = 0; i < fused.grads.size(); ++i) {
    ASSERT_TRUE(fused.grads[i].defined()) << "input " << i;
    EXPECT_EQ(fused.grads[i].scalar_type(), torch::kFloat);
    const double scale = apart.grads[i].abs().max().item<double>();
    EXPECT_LT((fused.grads[i] - apart.grads[i]).abs().max().item<double>(), scale / 128) << "input " << i;
  }
}

}  // namespace

TEST(OutputCrossEntropy, Bf16EqualsTheBf16ProductThenTheLossRows) {
  torch::manual_seed(4);
  const auto features = torch::randn({70, 32}), weight = torch::randn({300, 32}) * 0.3, bias = torch::randn({300});
  auto targets = torch::randint(0, 300, {70}, torch::kInt64);
  targets.slice(0, 10, 14).fill_(kPad);
  const PrecisionScope bf16(Precision::bf16);
  for (const double smoothing : {0.0, 0.1}) {
    SCOPED_TRACE("label smoothing " + std::to_string(smoothing));
    const auto fused = run({features, weight, bias}, [&](const std::vector<torch::Tensor>& t) {
      return output_cross_entropy_sum({t[0], t[1], t[2]}, targets, smoothing);
    });
    const auto apart = run({features, weight, bias}, [&](const std::vector<torch::Tensor>& t) {
      return cross_entropy_sum(precise::linear(t[0], t[1], t[2]), targets, smoothing);
    });
    expect_close(fused, apart);
    EXPECT_FALSE(torch::equal(fused.loss, run({features, weight, bias}, [&](const std::vector<torch::Tensor>& t) {
                                            return cross_entropy_sum(torch::nn::functional::linear(t[0], t[1], t[2]),
                                                                     targets, smoothing);
                                          }).loss))
        << "the product did not run in bf16";
  }
}

TEST(OutputCrossEntropy, Bf16GivesTheSameBitsOnOneThreadAndTwo) {
  torch::manual_seed(5);
  const auto features = torch::randn({90, 24}), weight = torch::randn({500, 24}) * 0.3, bias = torch::randn({500});
  const auto targets = torch::randint(0, 500, {90}, torch::kInt64);
  const PrecisionScope bf16(Precision::bf16);
  const int threads = torch::get_num_threads();
  std::vector<LossAndGrads> runs;
  for (const int n : {1, 2}) {
    torch::set_num_threads(n);
    runs.push_back(run({features, weight, bias}, [&](const std::vector<torch::Tensor>& t) {
      return output_cross_entropy_sum({t[0], t[1], t[2]}, targets, 0.1);
    }));
  }
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(runs[0].loss, runs[1].loss));
  for (size_t i = 0; i < runs[0].grads.size(); ++i) EXPECT_TRUE(torch::equal(runs[0].grads[i], runs[1].grads[i]));
}

TEST(OutputCrossEntropy, RefusesATargetOutsideTheVocabularyInBf16) {
  const PrecisionScope bf16(Precision::bf16);
  const auto features = torch::zeros({2, 4}), weight = torch::zeros({5, 4}), bias = torch::zeros({5});
  EXPECT_THROW(output_cross_entropy_sum({features, weight, bias}, torch::tensor({1, 5}, torch::kInt64)), c10::Error);
}

// The training loss of a model in bf16 (the fused output layer) against the logits the model
// returns in bf16 scored apart, for an output layer of its own and for tied embeddings.
TEST(OutputCrossEntropy, Bf16TranslationLossEqualsTheModelsLogitsScored) {
  ParallelCorpus corpus;
  for (const std::vector<int32_t>& src : {std::vector<int32_t>{4, 5, 6, 7, 8}, {9, 10}, {11, 12, 13}})
    corpus.src.push_back(src);
  for (const std::vector<int32_t>& tgt : {std::vector<int32_t>{kSos, 5, 6, 7, kEos}, {kSos, 9, 9, 10, 11, 12, kEos},
                                          {kSos, 13, kEos}})
    corpus.tgt.push_back(tgt);
  const Batch batch = collate(corpus.src, &corpus.tgt, {0, 1, 2});
  const auto targets = batch.tgt_out.t().reshape({-1}).index_select(0, batch.target_positions);
  for (const bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied embeddings" : "own output layer");
    auto model = test::random_seq2seq("gru", "general", 6, 40);
    if (tied) {
      ModelConfig config = model->config();
      config.tie_embeddings = true;
      torch::manual_seed(6);
      model = Seq2Seq(config, 40, 40);
      model->eval();
    }
    const PrecisionScope bf16(Precision::bf16);
    std::vector<torch::Tensor> grads[2];
    torch::Tensor losses[2];
    for (const bool fused : {true, false}) {
      model->zero_grad();
      const auto loss = fused ? translation_loss_sum(model, batch, 1.0, 0.1)
                              : cross_entropy_sum(model->forward_targets(batch), targets, 0.1);
      loss.backward();
      losses[fused] = loss.detach();
      for (const auto& parameter : model->parameters())
        grads[fused].push_back(parameter.grad().defined() ? parameter.grad().clone() : torch::zeros_like(parameter));
    }
    EXPECT_NEAR(losses[1].item<double>(), losses[0].item<double>(), 1e-5 * losses[0].item<double>());
    // The fused node's backward products come back as fp32 sums; the apart path's (LibTorch's bf16
    // products) are rounded to bf16: the gradients flowing back through the model differ by a few
    // bf16 roundings (up to a 75th of the scale seen).
    for (size_t i = 0; i < grads[0].size(); ++i) {
      const double scale = grads[0][i].abs().max().item<double>();
      EXPECT_LE((grads[1][i] - grads[0][i]).abs().max().item<double>(), scale / 32) << "parameter " << i;
    }
  }
}
