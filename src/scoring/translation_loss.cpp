#include "scoring/translation_loss.hpp"

#include <numeric>

#include "data/batch.hpp"
#include "scoring/evaluation_scope.hpp"
#include "scoring/output_cross_entropy.hpp"

namespace nmt {

torch::Tensor translation_loss_sum(Seq2Seq& model, const Batch& batch, double teacher_forcing,
                                   double label_smoothing) {
  const auto targets = batch.tgt_out.t().reshape({-1}).index_select(0, batch.target_positions);
  if (teacher_forcing < 1.0)
    return cross_entropy_sum(model->forward_targets(batch, teacher_forcing), targets, label_smoothing);
  return output_cross_entropy_sum(model->forward_target_readout(batch), targets, label_smoothing);
}

LossTotal corpus_loss(Seq2Seq& model, const ParallelCorpus& corpus, int64_t batch_size, const torch::Device& device) {
  EvaluationScope scope(*model);
  std::vector<int64_t> order(corpus.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return corpus.src.length(a) > corpus.src.length(b); });
  LossTotal total;
  torch::Tensor sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    const Batch batch = collate(corpus.src, &corpus.tgt,
                                {order.begin() + static_cast<std::ptrdiff_t>(begin),
                                 order.begin() + static_cast<std::ptrdiff_t>(end)})
                            .to(device);
    sum += translation_loss_sum(model, batch).to(torch::kDouble);
    total.tokens += batch.target_tokens;
  }
  total.sum = sum.item<double>();
  return total;
}

}  // namespace nmt
