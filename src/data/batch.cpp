#include "data/batch.hpp"

#include <algorithm>

#include "data/vocab.hpp"

namespace nmt {

namespace {
torch::Tensor as_tensor(const Sequences& sequences, int64_t index, int64_t begin, int64_t end) {
  const int32_t* data = sequences.data(static_cast<size_t>(index));
  return torch::from_blob(const_cast<int32_t*>(data) + begin, {end - begin}, torch::kInt32).to(torch::kInt64);
}
}  // namespace

Batch collate(const Sequences& src, const Sequences* tgt, std::vector<int64_t> indices) {
  std::stable_sort(indices.begin(), indices.end(),
                   [&](int64_t a, int64_t b) { return src.length(a) > src.length(b); });
  Batch batch;
  std::vector<torch::Tensor> src_rows, in_rows, out_rows;
  auto lengths = torch::empty({static_cast<int64_t>(indices.size())}, torch::kInt64);
  auto* length_data = lengths.data_ptr<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t index = indices[i];
    src_rows.push_back(as_tensor(src, index, 0, src.length(index)));
    length_data[i] = src.length(index);
    if (tgt) {
      const int64_t length = tgt->length(index);
      in_rows.push_back(as_tensor(*tgt, index, 0, length - 1));
      out_rows.push_back(as_tensor(*tgt, index, 1, length));
      batch.target_tokens += length - 1;
    }
  }
  namespace rnn_utils = torch::nn::utils::rnn;
  batch.src = rnn_utils::pad_sequence(src_rows, /*batch_first=*/false, kPad);
  batch.src_len = lengths;
  batch.padded_src = batch.src.numel();
  if (tgt) {
    batch.tgt_in = rnn_utils::pad_sequence(in_rows, false, kPad);
    batch.tgt_out = rnn_utils::pad_sequence(out_rows, false, kPad);
    batch.padded_tgt = batch.tgt_out.numel();
  }
  batch.indices = std::move(indices);
  return batch;
}

Batch Batch::to(const torch::Device& device) const {
  if (device.is_cpu()) return *this;
  Batch moved = *this;
  moved.src = src.to(device, /*non_blocking=*/true);
  if (tgt_in.defined()) {
    moved.tgt_in = tgt_in.to(device, true);
    moved.tgt_out = tgt_out.to(device, true);
  }
  return moved;  // src_len stays on the CPU, as pack_padded_sequence requires
}

}  // namespace nmt
