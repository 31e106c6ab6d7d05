// Truncated-BPTT batching for stream language models (char-rnn style). The corpus becomes one
// token stream: a leading EOS, then each line followed by EOS (the line break). Every token
// after the leading EOS is one prediction; the predictions are cut into B contiguous streams
// that are read side by side in windows, so an epoch predicts each corpus token exactly once.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/corpus.hpp"

namespace nmt {

class TokenStreams {
 public:
  TokenStreams(const Sequences& lines, int64_t streams);
  int64_t streams() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t length() const { return lengths_.empty() ? 0 : lengths_.front(); }  // the longest stream
  int64_t predictions() const { return predictions_; }
  // First corpus position predicted by each stream, and how many it predicts.
  const std::vector<int64_t>& starts() const { return starts_; }
  const std::vector<int64_t>& lengths() const { return lengths_; }
  // Inputs and targets (T, B) for stream positions [begin, begin + T); targets past a stream's
  // end are PAD (ignored by the loss).
  std::pair<torch::Tensor, torch::Tensor> window(int64_t begin, int64_t length) const;
  int64_t target_tokens(int64_t begin, int64_t length) const;

 private:
  torch::Tensor matrix_;  // (length + 1, B) int64: stream b's inputs, then PAD after its end
  std::vector<int64_t> starts_, lengths_;
  int64_t predictions_ = 0;
};

// Window lengths that cover `total` positions in order: `bptt` each (the last one shorter), or
// with jitter > 0 AWD-LSTM's variable length (bptt, or bptt/2 with probability 0.05, plus
// normal noise of that std-dev). Depends only on (seed, epoch), so a resumed run sees the same windows.
std::vector<int64_t> window_lengths(int64_t total, int64_t bptt, double jitter, uint64_t seed, int64_t epoch);

}  // namespace nmt
