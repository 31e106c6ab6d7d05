#include "scoring/lm_loss.hpp"

#include <cmath>
#include <numeric>

#include "data/batch.hpp"
#include "scoring/evaluation_scope.hpp"

namespace nmt {
LossTotal stream_loss(LanguageModel& model, const TokenStreams& streams, int64_t window, const torch::Device& device) {
  EvaluationScope scope(*model);
  auto state = model->start(streams.streams(), device);
  auto sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  LossTotal total;
  for (int64_t begin = 0; begin < streams.length(); begin += window) {
    const int64_t length = std::min(window, streams.length() - begin);
    const auto [inputs, targets] = streams.window(begin, length);
    sum += token_loss_sum(model->forward(state, inputs.to(device)), targets.to(device)).to(torch::kDouble);
    total.tokens += streams.target_tokens(begin, length);
  }
  total.sum = sum.item<double>();
  return total;
}

torch::Tensor sentence_batch_loss(LanguageModel& model, const Batch& batch, double label_smoothing) {
  auto state = model->start(batch.size(), batch.tgt_in.device());
  return token_loss_sum(model->forward(state, batch.tgt_in, batch.tgt_len), batch.tgt_out, label_smoothing);
}

LossTotal sentence_loss(LanguageModel& model, const Sequences& sentences, int64_t batch_size,
                        const torch::Device& device) {
  EvaluationScope scope(*model);
  std::vector<int64_t> order(sentences.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return sentences.length(a) > sentences.length(b); });
  auto sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  LossTotal total;
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    const Batch batch = collate_targets(sentences, {order.begin() + static_cast<std::ptrdiff_t>(begin),
                                                    order.begin() + static_cast<std::ptrdiff_t>(end)})
                            .to(device);
    sum += sentence_batch_loss(model, batch).to(torch::kDouble);
    total.tokens += batch.target_tokens;
  }
  total.sum = sum.item<double>();
  return total;
}

nlohmann::json lm_loss_report(const LossTotal& loss, bool characters) {
  nlohmann::json report = {{"loss", loss.mean()}, {"ppl", loss.perplexity()}, {"tokens", loss.tokens}};
  if (characters) report["bpc"] = loss.mean() / std::log(2.0);
  return report;
}

}  // namespace nmt
