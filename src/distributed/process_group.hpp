// The collectives of a data-parallel run, on c10d (Gloo; NCCL in CUDA builds of LibTorch).
// Start-up problems throw with a message naming the cause. After start-up every failure ends
// the process at once: a c10d group that failed is unusable, and a store whose host died would
// spin a core, so the rank logs which operation failed at which step and which peers are gone,
// and exits with kPeerFailureExit.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "config/config.hpp"
#include "distributed/world.hpp"

namespace nmt {

constexpr int kPeerFailureExit = 3;

// What this build supports: "gloo", "gloo, nccl", or "" without c10d.
std::string distributed_backends();

class ProcessGroup {
 public:
  // A world of one process needs no communication: every collective returns its input.
  ProcessGroup(const World& world, const DistributedConfig& config, const torch::Device& device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return world_.rank; }
  int size() const { return world_.size; }
  bool is_root() const { return world_.rank == 0; }
  std::string describe() const;  // backend and device, for the log
  void set_step(int64_t step) { step_ = step; }  // named in failure messages

  enum class Op { sum, min, max };
  void allreduce(torch::Tensor& tensor, Op op, const char* what);
  // Starts summing `tensor` in place across ranks; wait_for_sums completes all that were started,
  // in order, so that several buckets are in flight at once.
  void start_sum(const torch::Tensor& tensor);
  void wait_for_sums(const char* what);

  // Rank 0 publishes `value` under `key`; the others wait for it up to `timeout_seconds` (a
  // store wait, not a collective, so rank 0 may take that long to validate or checkpoint).
  // `confirmed`: also wait until every rank has read it (up to 60 s), as rank 0 must before it
  // exits: the store lives in rank 0's process.
  enum class Delivery { posted, confirmed };
  void publish(const std::string& key, const std::string& value, Delivery delivery = Delivery::posted);
  std::string await(const std::string& key, double timeout_seconds, const char* what);

  [[noreturn]] void fail(const char* what, const std::string& reason) const;

 private:
  struct Connection;
  World world_;
  int64_t step_ = 0;
  std::unique_ptr<Connection> connection_;
};

}  // namespace nmt
