#include "train/gradient_sync.hpp"

#include <algorithm>
#include <cstring>

namespace nmt {

void flag_rows_in_use(const torch::Tensor& table, torch::Tensor flags) {
  if (!table.is_cpu()) {
    flags.copy_(table.ne(0).any(1));
    return;
  }
  TORCH_CHECK(table.dim() == 2 && table.is_contiguous() && table.scalar_type() == torch::kFloat &&
                  flags.is_contiguous() && flags.scalar_type() == torch::kFloat && flags.numel() == table.size(0),
              "flag_rows_in_use: a contiguous float table and one float flag per row");
  // One pass over the bits without the sign (so -0.0 is zero; NaN is not, as in ne), in blocks
  // that vectorize; a row in use usually stops after its first block.
  const int64_t rows = table.size(0), columns = table.size(1);
  const float* values = table.data_ptr<float>();
  auto* out = flags.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = values + r * columns;
    uint32_t any = 0;
    for (int64_t c = 0; c < columns && any == 0; c += 64) {
      const int64_t end = std::min(columns, c + 64);
      for (int64_t k = c; k < end; ++k) {
        uint32_t bits;
        std::memcpy(&bits, row + k, sizeof bits);
        any |= bits << 1;
      }
    }
    out[r] = any != 0 ? 1.0f : 0.0f;
  }
}

GradientSync::GradientSync(std::vector<torch::Tensor> parameters, const std::vector<torch::Tensor>& row_sparse,
                           ProcessGroup& group, double bucket_mb)
    : parameters_(std::move(parameters)), group_(group) {
  const size_t count = parameters_.size();
  offset_.resize(count);
  bucket_of_.resize(count);
  taken_.assign(count, false);
  is_row_sparse_.assign(count, false);
  for (size_t k = 0; k < count; ++k) {
    TORCH_CHECK(parameters_[k].scalar_type() == torch::kFloat, "data-parallel training sums float32 gradients");
    is_row_sparse_[k] = parameters_[k].dim() == 2 && std::any_of(row_sparse.begin(), row_sparse.end(), [&](const auto& t) {
                          return t.unsafeGetTensorImpl() == parameters_[k].unsafeGetTensorImpl();
                        });
  }
  const int64_t bucket_elements = std::max<int64_t>(1, static_cast<int64_t>(bucket_mb * (1 << 20) / 4));
  // Backward produces the gradients of the last parameters first: lay them out first.
  int64_t offset = 0, bucket_begin = 0;
  for (size_t k = count; k-- > 0;) {
    if (is_row_sparse_[k]) continue;
    offset_[k] = offset;
    bucket_of_[k] = buckets_.size();
    offset += parameters_[k].numel();
    if (offset - bucket_begin >= bucket_elements) {
      buckets_.emplace_back(bucket_begin, offset - bucket_begin);
      bucket_begin = offset;
    }
  }
  if (offset > bucket_begin) buckets_.emplace_back(bucket_begin, offset - bucket_begin);
  int64_t flags = 1 + static_cast<int64_t>(count);
  for (size_t k = 0; k < count; ++k) {
    if (!is_row_sparse_[k]) continue;
    row_sparse_.push_back(k);
    offset_[k] = offset;
    offset += parameters_[k].numel();
    row_flag_offset_.push_back(flags);
    flags += parameters_[k].size(0);
  }
  missing_.assign(buckets_.size(), 0);
  const auto options = parameters_.front().options();
  flat_ = torch::empty({offset}, options);
  extras_ = torch::empty({flags}, options);
  for (size_t k = 0; k < count; ++k)
    parameters_[k].register_hook([this, k](const torch::Tensor& gradient) {
      if (armed_) take(k, gradient);
    });
}

torch::Tensor GradientSync::slot(size_t index) const {
  const auto& parameter = parameters_[index];
  return flat_.narrow(0, offset_[index], parameter.numel()).view_as(parameter);
}

void GradientSync::arm() {
  armed_ = true;
  next_bucket_ = 0;
  std::fill(taken_.begin(), taken_.end(), false);
  std::fill(missing_.begin(), missing_.end(), 0);
  for (size_t k = 0; k < parameters_.size(); ++k)
    if (!is_row_sparse_[k]) ++missing_[bucket_of_[k]];
}

void GradientSync::take(size_t index, const torch::Tensor& gradient) {
  torch::NoGradGuard no_grad;
  const auto& parameter = parameters_[index];
  auto destination = slot(index);
  // What autograd would accumulate: earlier micro-batches' gradient plus this one.
  if (parameter.grad().defined()) torch::add_out(destination, parameter.grad(), gradient);
  else destination.copy_(gradient);
  taken_[index] = true;
  if (is_row_sparse_[index]) return;
  --missing_[bucket_of_[index]];
  send_ready_buckets();
}

void GradientSync::send_ready_buckets() {
  // Strictly in bucket order, so that every rank issues the same collectives in the same order.
  while (next_bucket_ < buckets_.size() && missing_[next_bucket_] == 0) {
    const auto [begin, length] = buckets_[next_bucket_];
    group_.start_sum(flat_.narrow(0, begin, length));
    ++next_bucket_;
  }
}

void GradientSync::sum_row_sparse() {
  // extras_ holds, per table, how many ranks have a gradient in each row. A table that most rows
  // of are in is summed whole; of the others only those rows, gathered into one buffer.
  std::vector<torch::Tensor> rows(row_sparse_.size()), gathered;
  for (size_t i = 0; i < row_sparse_.size(); ++i) {
    const auto table = slot(row_sparse_[i]);
    rows[i] = extras_.narrow(0, row_flag_offset_[i], table.size(0)).gt(0).nonzero().squeeze(1);
    if (2 * rows[i].numel() > table.size(0)) {
      group_.start_sum(table);
      rows[i] = torch::Tensor();  // summed whole
    } else {
      gathered.push_back(table.index_select(0, rows[i]).view(-1));
    }
  }
  const auto buffer = gathered.empty() ? torch::Tensor() : torch::cat(gathered);
  if (buffer.defined()) group_.start_sum(buffer);
  group_.wait_for_sums("summing embedding gradients");
  int64_t begin = 0;
  for (size_t i = 0; i < row_sparse_.size(); ++i) {
    if (!rows[i].defined()) continue;
    auto table = slot(row_sparse_[i]);
    const int64_t length = rows[i].numel() * table.size(1);
    table.index_copy_(0, rows[i], buffer.narrow(0, begin, length).view({rows[i].numel(), table.size(1)}));
    begin += length;
  }
}

torch::Tensor GradientSync::finish(const torch::Tensor& loss_sum) {
  torch::NoGradGuard no_grad;
  if (!armed_) arm();  // a rank with an empty shard ran no backward pass
  extras_[0].copy_(loss_sum);
  for (size_t k = 0; k < parameters_.size(); ++k) {
    const auto& parameter = parameters_[k];
    const bool has_gradient = taken_[k] || parameter.grad().defined();
    extras_[1 + static_cast<int64_t>(k)].fill_(has_gradient ? 1.0 : 0.0);
    if (taken_[k]) continue;
    // Not reached by this backward pass: its gradient from earlier micro-batches, or zero.
    if (parameter.grad().defined()) slot(k).copy_(parameter.grad());
    else slot(k).zero_();
    if (is_row_sparse_[k]) continue;
    --missing_[bucket_of_[k]];
  }
  for (size_t i = 0; i < row_sparse_.size(); ++i) {
    const auto table = slot(row_sparse_[i]);
    flag_rows_in_use(table, extras_.narrow(0, row_flag_offset_[i], table.size(0)));
  }
  send_ready_buckets();
  group_.start_sum(extras_);
  group_.wait_for_sums("summing gradients");
  sum_row_sparse();
  armed_ = false;
  const auto has_gradient = extras_.cpu();
  const auto* flags = has_gradient.data_ptr<float>();
  for (size_t k = 0; k < parameters_.size(); ++k)
    parameters_[k].mutable_grad() = flags[1 + k] > 0 ? slot(k) : torch::Tensor();
  return extras_[0].clone();
}

std::vector<torch::Tensor> embedding_tables(torch::nn::Module& model) {
  std::vector<torch::Tensor> tables;
  for (const auto& module : model.modules())
    if (const auto* embedding = module->as<torch::nn::Embedding>()) tables.push_back(embedding->weight);
  return tables;
}

}  // namespace nmt
