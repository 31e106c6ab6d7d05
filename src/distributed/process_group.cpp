#include "distributed/process_group.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "distributed/c10d_headers.hpp"
#include "distributed/gloo_addresses.hpp"
#include "distributed/peer_process.hpp"
#include "distributed/rendezvous.hpp"
#include "distributed/set_up_watch.hpp"

namespace nmt {

std::string distributed_backends() {
#if defined(NMT_C10D) && defined(USE_C10D_NCCL)
  return "gloo, nccl";
#elif defined(NMT_C10D)
  return "gloo";
#else
  return "";
#endif
}

#ifdef NMT_C10D
namespace {

std::string backend_for(const DistributedConfig& config, const torch::Device& device) {
  if (config.backend == "nccl") {
#ifndef USE_C10D_NCCL
    throw std::runtime_error("distributed.backend is 'nccl', but this LibTorch has no NCCL (it supports: " +
                             distributed_backends() + "); use gloo or auto");
#endif
    if (!device.is_cuda())
      throw std::runtime_error("distributed.backend is 'nccl', which needs a CUDA device; training runs on " +
                               device.str() + " (use gloo or auto)");
    return "nccl";
  }
  if (config.backend == "auto") {
#ifdef USE_C10D_NCCL
    if (device.is_cuda()) return "nccl";
#endif
  }
  return "gloo";
}

}  // namespace

struct ProcessGroup::Connection {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CollectiveBackend> group;
  std::string backend;
  std::vector<PeerProcess> peers;  // every rank's host, pid and advertised address
  std::vector<c10::intrusive_ptr<c10d::Work>> pending;  // started sums
};

ProcessGroup::ProcessGroup(const World& world, const DistributedConfig& config, const torch::Device& device)
    : world_(world) {
  if (!world.distributed()) return;
  const std::string backend = backend_for(config, device);
  const std::string where = world.master_addr + ":" + std::to_string(world.master_port);
  connection_ = std::make_unique<Connection>();
  connection_->backend = backend;
  connection_->store = connect_store(world, config, world.rank == 0 && !world.agent_store);
  SetUpWatch watch(connect_store(world, config, false), world.rank, world.size, where);
  try {
    watch.enter("the rendezvous");
    try {
      connection_->peers = join(*connection_->store, world, config);
    } catch (const std::exception& e) {
      throw std::runtime_error("rendezvous at " + where + " failed: " + e.what());
    }
    if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = from_seconds(config.timeout_seconds);
      watch.enter("NCCL set-up");
      connection_->group =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(connection_->store, world.rank, world.size, nccl_options);
#endif
      return;
    }
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(from_seconds(config.timeout_seconds));
    watch.enter("the check that every rank reaches every other's address");
    gloo_options->devices = gloo_devices(*connection_->store, world, config, connection_->peers);
    gloo_options->threads = 1;
    watch.enter("Gloo pair set-up");
    try {
      connection_->group =
          c10::make_intrusive<c10d::ProcessGroupGloo>(connection_->store, world.rank, world.size, gloo_options);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot connect the Gloo group at " + where + ": " + e.what());
    }
  } catch (const AgreedSetUpFailure&) {
    throw;  // every rank found it
  } catch (const std::exception& e) {
    watch.abort(e.what());
    throw;
  }
}

ProcessGroup::~ProcessGroup() = default;

std::string ProcessGroup::describe() const {
  if (!connection_) return "one process";
  std::string ranks;
  const size_t shown = std::min<size_t>(connection_->peers.size(), 8);
  for (size_t r = 0; r < shown; ++r) {
    const auto& peer = connection_->peers[r];
    if (!peer.address.empty())
      ranks += fmt::format("; rank {} at {} ({}, {})", r, peer.address, peer.interface, peer.how);
  }
  if (shown < connection_->peers.size() && !ranks.empty()) ranks += "; ...";
  return fmt::format("{} processes, {}, store {}:{}{}", world_.size, connection_->backend, world_.master_addr,
                     world_.master_port, ranks);
}

void ProcessGroup::fail(const char* what, const std::string& reason) const {
  std::string peers;
  if (connection_)
    for (int r = 0; r < world_.size; ++r) {
      if (r == world_.rank || r >= static_cast<int>(connection_->peers.size())) continue;
      const auto& peer = connection_->peers[static_cast<size_t>(r)];
      peers += fmt::format("; rank {} (pid {} on {}) {}", r, peer.pid, peer.host, process_state(peer, true));
    }
  spdlog::error("{} failed at step {}: {}{}", what, step_, reason, peers);  // the log pattern names the rank
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  std::_Exit(kPeerFailureExit);
}

void ProcessGroup::allreduce(torch::Tensor& tensor, Op op, const char* what) {
  if (!connection_) return;
  c10d::AllreduceOptions options;
  options.reduceOp = op == Op::sum ? c10d::ReduceOp::SUM : op == Op::min ? c10d::ReduceOp::MIN : c10d::ReduceOp::MAX;
  std::vector<at::Tensor> tensors{tensor};
  try {
    connection_->group->allreduce(tensors, options)->wait();
  } catch (const std::exception& e) {
    fail(what, e.what());
  }
}

void ProcessGroup::start_sum(const torch::Tensor& tensor) {
  if (!connection_) return;
  std::vector<at::Tensor> tensors{tensor};
  try {
    connection_->pending.push_back(connection_->group->allreduce(tensors));
  } catch (const std::exception& e) {
    fail("starting an allreduce", e.what());
  }
}

void ProcessGroup::wait_for_sums(const char* what) {
  if (!connection_) return;
  try {
    for (auto& work : connection_->pending) work->wait();
  } catch (const std::exception& e) {
    fail(what, e.what());
  }
  connection_->pending.clear();
}

void ProcessGroup::publish(const std::string& key, const std::string& value, Delivery delivery) {
  if (!connection_) return;
  try {
    connection_->store->set(key, bytes_of(value));
    if (delivery == Delivery::confirmed)
      for (int rank = 0; rank < world_.size; ++rank)
        if (rank != world_.rank) connection_->store->wait({key + "/read/" + std::to_string(rank)}, from_seconds(60));
  } catch (const std::exception& e) {
    fail("publishing to the store", e.what());
  }
}

std::string ProcessGroup::await(const std::string& key, double timeout_seconds, const char* what) {
  if (!connection_) return "";
  try {
    connection_->store->wait({key}, from_seconds(timeout_seconds));
    const auto value = text_of(connection_->store->get(key));
    connection_->store->set(key + "/read/" + std::to_string(world_.rank), bytes_of(""));
    return value;
  } catch (const std::exception& e) {
    fail(what, e.what());
  }
}

#else  // a build without c10d/Gloo: one process only

struct ProcessGroup::Connection {};

ProcessGroup::ProcessGroup(const World& world, const DistributedConfig& /*config*/, const torch::Device& /*device*/)
    : world_(world) {
  if (world.distributed())
    throw std::runtime_error("WORLD_SIZE is " + std::to_string(world.size) +
                             ", but this nmt was built without c10d/Gloo (install libgloo-dev and rebuild): it trains "
                             "on one process only");
}
ProcessGroup::~ProcessGroup() = default;
std::string ProcessGroup::describe() const { return "one process"; }
void ProcessGroup::fail(const char* what, const std::string& reason) const {
  spdlog::error("{} failed at step {}: {}", what, step_, reason);
  std::_Exit(kPeerFailureExit);
}
void ProcessGroup::allreduce(torch::Tensor&, Op, const char*) {}
void ProcessGroup::start_sum(const torch::Tensor&) {}
void ProcessGroup::wait_for_sums(const char*) {}
void ProcessGroup::publish(const std::string&, const std::string&, Delivery) {}
std::string ProcessGroup::await(const std::string&, double, const char*) { return ""; }

#endif

}  // namespace nmt
