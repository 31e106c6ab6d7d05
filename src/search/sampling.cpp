#include "search/sampling.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include "data/vocab.hpp"

namespace nmt {

int64_t choose_token(const torch::Tensor& logits, const SamplingOptions& options, at::Generator& generator) {
  auto scores = logits.to(torch::kCPU, torch::kFloat).reshape({-1}).clone();
  // PAD and SOS are never outputs; an untrained model would still give them mass.
  scores.index_put_({torch::tensor({kPad, kSos}, torch::kInt64)}, -std::numeric_limits<float>::infinity());
  if (options.temperature <= 0) return scores.argmax().item<int64_t>();
  scores = scores / options.temperature;
  if (options.top_k > 0 && options.top_k < scores.size(0)) {
    const auto threshold = std::get<0>(scores.topk(options.top_k)).min();
    scores = scores.masked_fill(scores < threshold, -std::numeric_limits<float>::infinity());
  }
  if (options.top_p < 1.0) {
    // Keep the smallest set of most likely tokens whose probability reaches top_p.
    const auto [sorted, order] = torch::softmax(scores, -1).sort(-1, /*descending=*/true);
    const auto mass_before = sorted.cumsum(-1) - sorted;
    const auto dropped = order.masked_select(mass_before >= options.top_p);
    scores = scores.index_fill(0, dropped, -std::numeric_limits<float>::infinity());
  }
  return torch::multinomial(torch::softmax(scores, -1), 1, false, generator).item<int64_t>();
}

std::vector<int32_t> sample_tokens(const StepFunction& step, DecoderState state, int32_t first_input,
                                   const SamplingOptions& options, const std::function<void(int32_t)>& on_token) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  std::vector<int32_t> tokens;
  const auto long_options = torch::TensorOptions().dtype(torch::kInt64).device(state.device());
  auto previous = torch::full({1}, first_input, long_options);
  for (int64_t t = 0; t < options.max_len; ++t) {
    const auto out = step(state, previous);
    const auto token = static_cast<int32_t>(choose_token(out.logits[0], options, generator));
    if (token == kEos && options.stop_at_eos) break;
    tokens.push_back(token);
    if (on_token) on_token(token);
    previous = torch::full({1}, token, long_options);
  }
  return tokens;
}

}  // namespace nmt
