#include "data/batch.hpp"

#include <algorithm>

#include "data/vocab.hpp"

namespace nmt {

namespace {
torch::Tensor as_tensor(const Sequences& sequences, int64_t index, int64_t begin, int64_t end) {
  const int32_t* data = sequences.data(static_cast<size_t>(index));
  return torch::from_blob(const_cast<int32_t*>(data) + begin, {end - begin}, torch::kInt32).to(torch::kInt64);
}

// tgt_in / tgt_out of the sentences at `indices`, in that order; returns each tgt_in length.
std::vector<int64_t> fill_targets(Batch& batch, const Sequences& tgt, const std::vector<int64_t>& indices) {
  std::vector<torch::Tensor> in_rows, out_rows;
  std::vector<int64_t> lengths;
  for (const int64_t index : indices) {
    const int64_t length = tgt.length(index);
    in_rows.push_back(as_tensor(tgt, index, 0, length - 1));
    out_rows.push_back(as_tensor(tgt, index, 1, length));
    lengths.push_back(length - 1);
    batch.target_tokens += length - 1;
  }
  namespace rnn_utils = torch::nn::utils::rnn;
  batch.tgt_in = rnn_utils::pad_sequence(in_rows, /*batch_first=*/false, kPad);
  batch.tgt_out = rnn_utils::pad_sequence(out_rows, false, kPad);
  batch.padded_tgt = batch.tgt_out.numel();
  const int64_t steps = batch.tgt_out.size(0);
  std::vector<int64_t> positions;
  positions.reserve(static_cast<size_t>(batch.target_tokens));
  for (size_t column = 0; column < lengths.size(); ++column)
    for (int64_t t = 0; t < lengths[column]; ++t) positions.push_back(static_cast<int64_t>(column) * steps + t);
  batch.target_positions = torch::tensor(positions, torch::kInt64);
  return lengths;
}

void sort_by_length_descending(std::vector<int64_t>& indices, const Sequences& sequences) {
  std::stable_sort(indices.begin(), indices.end(),
                   [&](int64_t a, int64_t b) { return sequences.length(a) > sequences.length(b); });
}

}  // namespace

Batch collate(const Sequences& src, const Sequences* tgt, std::vector<int64_t> indices) {
  sort_by_length_descending(indices, src);
  Batch batch;
  std::vector<torch::Tensor> src_rows;
  std::vector<int64_t> lengths;
  for (const int64_t index : indices) {
    src_rows.push_back(as_tensor(src, index, 0, src.length(index)));
    lengths.push_back(src.length(index));
  }
  batch.src = torch::nn::utils::rnn::pad_sequence(src_rows, /*batch_first=*/false, kPad);
  batch.src_len = torch::tensor(lengths, torch::kInt64);
  batch.padded_src = batch.src.numel();
  if (tgt) fill_targets(batch, *tgt, indices);
  batch.indices = std::move(indices);
  return batch;
}

Batch collate_targets(const Sequences& tgt, std::vector<int64_t> indices) {
  sort_by_length_descending(indices, tgt);
  Batch batch;
  batch.tgt_len = torch::tensor(fill_targets(batch, tgt, indices), torch::kInt64);
  batch.indices = std::move(indices);
  return batch;
}

Batch Batch::to(const torch::Device& device) const {
  if (device.is_cpu()) return *this;
  Batch moved = *this;
  if (src.defined()) moved.src = src.to(device, /*non_blocking=*/true);
  if (tgt_in.defined()) {
    moved.tgt_in = tgt_in.to(device, true);
    moved.tgt_out = tgt_out.to(device, true);
    moved.target_positions = target_positions.to(device, true);
  }
  return moved;  // src_len stays on the CPU, as pack_padded_sequence requires
}

}  // namespace nmt
