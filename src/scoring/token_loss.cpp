#include "scoring/token_loss.hpp"

#include <algorithm>
#include <cmath>

#include "data/vocab.hpp"

namespace nmt {

double LossTotal::perplexity() const { return std::exp(std::min(mean(), 100.0)); }

torch::Tensor token_loss_sum(const torch::Tensor& logits, const torch::Tensor& tgt_out, double label_smoothing) {
  return cross_entropy_sum(logits.reshape({-1, logits.size(-1)}), tgt_out.t().reshape({-1}), label_smoothing);
}

}  // namespace nmt
