#include "distributed/process_group.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#if defined(NMT_WITH_GLOO) && defined(USE_C10D_GLOO)
#define NMT_C10D 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

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

using Seconds = std::chrono::duration<double>;

std::chrono::milliseconds from_seconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

// One word about a local process: gone, stopped, or running.
std::string process_state(int64_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return "has exited";
  const auto paren = line.rfind(')');
  const char state = paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
  if (state == 'Z' || state == 'X') return "has exited";
  if (state == 'T' || state == 't') return "is stopped";
  return "is running";
}

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
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  std::string backend, device;
  std::vector<std::pair<std::string, int64_t>> peers;  // (host, pid) of every rank
  std::vector<c10::intrusive_ptr<c10d::Work>> pending;  // started sums
};

ProcessGroup::ProcessGroup(const World& world, const DistributedConfig& config, const torch::Device& device)
    : world_(world) {
  if (!world.distributed()) return;
  const std::string backend = backend_for(config, device);
  const std::string where = world.master_addr + ":" + std::to_string(world.master_port);
  const bool server = world.rank == 0 && !world.agent_store;
  connection_ = std::make_unique<Connection>();
  connection_->backend = backend;
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(world.master_port);
  options.isServer = server;
  options.numWorkers = world.size;
  options.waitWorkers = false;  // the join below checks it, with a message
  options.timeout = from_seconds(config.rendezvous_timeout_seconds);
  try {
    connection_->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
  } catch (const std::exception& e) {
    if (server)
      throw std::runtime_error("rank 0 cannot listen on MASTER_ADDR:MASTER_PORT " + where + ": " + e.what() +
                               " (another run on this port? pick another MASTER_PORT)");
    throw std::runtime_error("rank " + std::to_string(world.rank) + " cannot reach the store at " + where + " within " +
                             fmt::format("{:g}", config.rendezvous_timeout_seconds) +
                             " s (distributed.rendezvous_timeout_seconds): " + e.what() + " (is rank 0 running?)");
  }
  auto& store = connection_->store;
  if (world.agent_store)
    store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(world.restart_count), store);
  store = c10::make_intrusive<c10d::PrefixStore>("nmt", store);

  // Every rank announces itself; all wait until all have, or say who is missing.
  try {
    if (store->add("claimed/" + std::to_string(world.rank), 1) != 1)
      throw std::runtime_error("another process already joined as RANK " + std::to_string(world.rank) +
                               ": every process needs its own RANK in [0, WORLD_SIZE)");
    store->set("peer/" + std::to_string(world.rank), bytes_of(host_name() + " " + std::to_string(getpid())));
    store->add("joined", 1);
    const auto deadline = std::chrono::steady_clock::now() + from_seconds(config.rendezvous_timeout_seconds);
    for (int64_t joined = 0; (joined = store->add("joined", 0)) < world.size;) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::string missing;
        for (int r = 0; r < world.size; ++r)
          if (!store->check({"peer/" + std::to_string(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        throw std::runtime_error("only " + std::to_string(joined) + " of " + std::to_string(world.size) +
                                 " ranks joined within " +
                                 fmt::format("{:g}", config.rendezvous_timeout_seconds) +
                                 " s (distributed.rendezvous_timeout_seconds); missing: rank " + missing);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (int r = 0; r < world.size; ++r) {
      const auto bytes = store->get("peer/" + std::to_string(r));
      std::istringstream peer(std::string(bytes.begin(), bytes.end()));
      std::string host;
      int64_t pid = 0;
      peer >> host >> pid;
      connection_->peers.emplace_back(host, pid);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("rendezvous at ") + where + " failed: " + e.what());
  }

  const auto timeout = from_seconds(config.timeout_seconds);
  if (backend == "nccl") {
#ifdef USE_C10D_NCCL
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
    nccl_options->timeout = timeout;
    connection_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, world.rank, world.size, nccl_options);
    connection_->device = device.str();
#endif
  } else {
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    std::string interface = config.interface;
    if (interface.empty())
      if (const char* name = std::getenv("GLOO_SOCKET_IFNAME")) interface = name;
    try {
      if (!interface.empty()) {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
        connection_->device = "interface " + interface;
      } else if (is_loopback(world.master_addr)) {
        // All ranks on this machine: loopback, whatever the host name resolves to.
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        connection_->device = "127.0.0.1";
      } else {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        connection_->device = "host " + host_name() + " (set distributed.interface if peers cannot reach it)";
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot open a Gloo device" + (interface.empty() ? "" : " on interface '" + interface + "'") +
                               ": " + e.what());
    }
    gloo_options->threads = 1;
    try {
      connection_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.size, gloo_options);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot connect the Gloo group at " + where + ": " + e.what());
    }
  }
}

ProcessGroup::~ProcessGroup() = default;

std::string ProcessGroup::describe() const {
  if (!connection_) return "one process";
  return fmt::format("{} processes, {} over {}, store {}:{}", world_.size, connection_->backend, connection_->device,
                     world_.master_addr, world_.master_port);
}

void ProcessGroup::fail(const char* what, const std::string& reason) const {
  std::string peers;
  if (connection_) {
    const std::string here = host_name();
    for (int r = 0; r < world_.size; ++r) {
      if (r == world_.rank || r >= static_cast<int>(connection_->peers.size())) continue;
      const auto& [host, pid] = connection_->peers[static_cast<size_t>(r)];
      std::string state = host == here ? process_state(pid) : "is on another machine";
      // A killed peer resets its connections while it is still being torn down: give it a moment
      // to show as exited.
      for (int wait = 0; wait < 25 && state == "is running"; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        state = process_state(pid);
      }
      peers += fmt::format("; rank {} (pid {} on {}) {}", r, pid, host, state);
    }
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
    const auto bytes = connection_->store->get(key);
    connection_->store->set(key + "/read/" + std::to_string(world_.rank), bytes_of(""));
    return std::string(bytes.begin(), bytes.end());
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
