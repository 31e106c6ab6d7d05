// Sums the gradients of data-parallel ranks while the backward pass still runs: parameters are
// grouped into buckets in the order their gradients become ready (the last layers first), and a
// bucket is sent as soon as all its gradients are in, in the same bucket order on every rank.
// Embedding tables are summed apart, after the backward pass: a batch touches a few hundred of
// their rows, so the ranks agree on the union of the rows with a gradient and sum only those
// (the rest is zero everywhere). The sums are the same as those of the whole tables.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "distributed/process_group.hpp"

namespace nmt {

// Writes 1 into `flags` for each row of the 2-D `table` with an entry other than 0 (or -0), else 0:
// table.ne(0).any(1), which on the CPU took 5.5-6.3 ms a step on bench-gru's two tables (2 x 1);
// this takes 0.7-1.0 ms.
void flag_rows_in_use(const torch::Tensor& table, torch::Tensor flags);

// The weights of the model's embedding layers: their gradients have rows only for the tokens of
// the batch (more when a table is tied to an output layer; GradientSync then sums it whole).
std::vector<torch::Tensor> embedding_tables(torch::nn::Module& model);

class GradientSync {
 public:
  // `row_sparse`: the parameters among `parameters` whose gradients have few nonzero rows.
  GradientSync(std::vector<torch::Tensor> parameters, const std::vector<torch::Tensor>& row_sparse,
               ProcessGroup& group, double bucket_mb);
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Call before the backward pass of a step's last micro-batch: its gradients (plus those that
  // earlier micro-batches accumulated) go into the buckets as they arrive.
  void arm();
  // After that backward pass: sends what is left, waits for every sum, and points each parameter's
  // gradient at the sum (a parameter without a gradient on any rank keeps none). Returns the sum
  // of `loss_sum` over the ranks.
  torch::Tensor finish(const torch::Tensor& loss_sum);

 private:
  torch::Tensor slot(size_t index) const;  // parameter `index`'s place in flat_
  void take(size_t index, const torch::Tensor& gradient);
  void send_ready_buckets();
  void sum_row_sparse();

  std::vector<torch::Tensor> parameters_;
  ProcessGroup& group_;
  torch::Tensor flat_;     // the gradients: bucket after bucket, then the row-sparse tables
  torch::Tensor extras_;   // [loss sum, a has-gradient flag per parameter, a has-gradient flag per
                           // row of each row-sparse table]: the last, small sum
  std::vector<int64_t> offset_;    // per parameter: where its gradient lies in flat_
  std::vector<size_t> bucket_of_;  // per dense parameter
  std::vector<size_t> row_sparse_;       // indices of the row-sparse parameters
  std::vector<int64_t> row_flag_offset_;  // per row-sparse parameter: its row flags in extras_
  std::vector<std::pair<int64_t, int64_t>> buckets_;  // (begin, length) in flat_
  std::vector<size_t> missing_;    // per bucket: gradients still to come this step
  std::vector<bool> taken_;        // per parameter, this step
  std::vector<bool> is_row_sparse_;  // per parameter
  size_t next_bucket_ = 0;
  bool armed_ = false;
};

}  // namespace nmt
