#include "search/decode_corpus.hpp"

#include <algorithm>
#include <numeric>

namespace nmt {

std::vector<std::vector<Hypothesis>> decode_sequences(Seq2Seq& model, const Sequences& src,
                                                      const SearchOptions& options, int64_t batch_size,
                                                      const torch::Device& device) {
  torch::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<std::vector<Hypothesis>> results(src.size(), std::vector<Hypothesis>(1));
  std::vector<int64_t> order;
  for (size_t i = 0; i < src.size(); ++i)
    if (src.length(i) > 0) order.push_back(static_cast<int64_t>(i));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return src.length(a) > src.length(b); });
  auto decoder = model->decoder();
  const StepFunction step = [&](DecoderState& state, const torch::Tensor& previous) {
    return decoder->step(state, previous);
  };
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    const Batch batch = collate(src, nullptr, {order.begin() + static_cast<std::ptrdiff_t>(begin),
                                               order.begin() + static_cast<std::ptrdiff_t>(end)})
                            .to(device);
    auto state = model->start(batch.src, batch.src_len);
    std::vector<int64_t> lengths(batch.src_len.data_ptr<int64_t>(),
                                 batch.src_len.data_ptr<int64_t>() + batch.src_len.numel());
    auto hypotheses = options.beam_size > 1 ? beam_search(step, state, lengths, options)
                                            : greedy_search(step, state, lengths, options);
    for (size_t i = 0; i < hypotheses.size(); ++i)
      results[static_cast<size_t>(batch.indices[i])] = std::move(hypotheses[i]);
  }
  if (was_training) model->train();
  return results;
}

}  // namespace nmt
