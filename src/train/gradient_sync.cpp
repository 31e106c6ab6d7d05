#include "train/gradient_sync.hpp"

namespace nmt {

GradientSync::GradientSync(std::vector<torch::Tensor> parameters, ProcessGroup& group, double bucket_mb)
    : parameters_(std::move(parameters)), group_(group) {
  const size_t count = parameters_.size();
  offset_.resize(count);
  bucket_of_.resize(count);
  taken_.assign(count, false);
  const int64_t bucket_elements = std::max<int64_t>(1, static_cast<int64_t>(bucket_mb * (1 << 20) / 4));
  // Backward produces the gradients of the last parameters first: lay them out first.
  int64_t offset = 0, bucket_begin = 0;
  for (size_t k = count; k-- > 0;) {
    offset_[k] = offset;
    bucket_of_[k] = buckets_.size();
    offset += parameters_[k].numel();
    if (offset - bucket_begin >= bucket_elements || k == 0) {
      buckets_.emplace_back(bucket_begin, offset - bucket_begin);
      bucket_begin = offset;
    }
  }
  missing_.assign(buckets_.size(), 0);
  for (const auto& parameter : parameters_)
    TORCH_CHECK(parameter.scalar_type() == torch::kFloat, "data-parallel training sums float32 gradients");
  const auto options = parameters_.front().options();
  flat_ = torch::empty({offset}, options);
  extras_ = torch::empty({1 + static_cast<int64_t>(count)}, options);
  for (size_t k = 0; k < count; ++k)
    parameters_[k].register_hook([this, k](const torch::Tensor& gradient) {
      if (armed_) take(k, gradient);
    });
}

void GradientSync::arm() {
  armed_ = true;
  next_bucket_ = 0;
  std::fill(taken_.begin(), taken_.end(), false);
  std::fill(missing_.begin(), missing_.end(), 0);
  for (size_t k = 0; k < parameters_.size(); ++k) ++missing_[bucket_of_[k]];
}

void GradientSync::take(size_t index, const torch::Tensor& gradient) {
  torch::NoGradGuard no_grad;
  const auto& parameter = parameters_[index];
  auto slot = flat_.narrow(0, offset_[index], parameter.numel()).view_as(parameter);
  // What autograd would accumulate: earlier micro-batches' gradient plus this one.
  if (parameter.grad().defined()) torch::add_out(slot, parameter.grad(), gradient);
  else slot.copy_(gradient);
  taken_[index] = true;
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
    auto slot = flat_.narrow(0, offset_[k], parameter.numel()).view_as(parameter);
    if (parameter.grad().defined()) slot.copy_(parameter.grad());
    else slot.zero_();
    --missing_[bucket_of_[k]];
  }
  send_ready_buckets();
  group_.start_sum(extras_);
  group_.wait_for_sums("summing gradients");
  armed_ = false;
  const auto has_gradient = extras_.cpu();
  const auto* flags = has_gradient.data_ptr<float>();
  for (size_t k = 0; k < parameters_.size(); ++k) {
    auto parameter = parameters_[k];
    parameter.mutable_grad() = flags[1 + k] > 0 ? flat_.narrow(0, offset_[k], parameter.numel()).view_as(parameter)
                                                : torch::Tensor();
  }
  return extras_[0].clone();
}

}  // namespace nmt
