// Token-by-token generation over the decoder's step(): greedy, or sampling with temperature,
// top-k and top-p, reproducible from a seed. Tokens are handed out as they are produced.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "search/search.hpp"

namespace nmt {

struct SamplingOptions {
  int64_t max_len = 200;
  double temperature = 1.0;  // 0 = greedy
  int64_t top_k = 0;         // 0 = no top-k cut
  double top_p = 1.0;        // 1 = no nucleus cut
  uint64_t seed = 1;
  bool stop_at_eos = true;   // false: EOS is an ordinary token (a stream LM's line break)
};

// The next token from one row of logits (V): argmax at temperature 0, else a draw from the
// tempered distribution restricted to the top-k tokens and the top-p probability mass.
int64_t choose_token(const torch::Tensor& logits, const SamplingOptions& options, at::Generator& generator);

// Runs from `state` with `first_input` as the first decoder input (batch of one). Calls
// on_token(id) for each token as it is produced; returns them (a final EOS is not included
// when it stops generation).
std::vector<int32_t> sample_tokens(const StepFunction& step, DecoderState state, int32_t first_input,
                                   const SamplingOptions& options, const std::function<void(int32_t)>& on_token = {});

}  // namespace nmt
