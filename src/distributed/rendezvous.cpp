// The store and the join, with messages that name the address, the ranks and the setting.
#include "distributed/rendezvous.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#ifdef NMT_C10D
namespace nmt {
std::chrono::milliseconds from_seconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }
std::string text_of(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

c10::intrusive_ptr<c10d::Store> connect_store(const World& world, const DistributedConfig& config, bool server) {
  const std::string where = world.master_addr + ":" + std::to_string(world.master_port);
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(world.master_port);
  options.isServer = server;
  options.numWorkers = world.size;
  options.waitWorkers = false;  // join() checks it, with a message
  options.timeout = from_seconds(config.rendezvous_timeout_seconds);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
  } catch (const std::exception& e) {
    if (server)
      throw std::runtime_error("rank 0 cannot listen on MASTER_ADDR:MASTER_PORT " + where + ": " + e.what() +
                               " (another run on this port? pick another MASTER_PORT)");
    throw std::runtime_error("rank " + std::to_string(world.rank) + " cannot reach the store at " + where + " within " +
                             fmt::format("{:g}", config.rendezvous_timeout_seconds) +
                             " s (distributed.rendezvous_timeout_seconds): " + e.what() + " (is rank 0 running?)");
  }
  if (world.agent_store)
    store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(world.restart_count), store);
  return c10::make_intrusive<c10d::PrefixStore>("nmt", store);
}

std::vector<PeerProcess> join(c10d::Store& store, const World& world, const DistributedConfig& config) {
  if (store.add("claimed/" + std::to_string(world.rank), 1) != 1)
    throw std::runtime_error("another process already joined as RANK " + std::to_string(world.rank) +
                             ": every process needs its own RANK in [0, WORLD_SIZE)");
  PeerProcess self{host_name(), getpid()};
  store.set("peer/" + std::to_string(world.rank), bytes_of(self.record()));
  if (store.add("joined", 1) < world.size)
    spdlog::info("rank {} joined at {}:{}; waiting for the other ranks", world.rank, world.master_addr,
                 world.master_port);
  const auto deadline = std::chrono::steady_clock::now() + from_seconds(config.rendezvous_timeout_seconds);
  for (int64_t joined = 0; (joined = store.add("joined", 0)) < world.size;) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::string missing;
      for (int r = 0; r < world.size; ++r)
        if (!store.check({"peer/" + std::to_string(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      throw std::runtime_error("only " + std::to_string(joined) + " of " + std::to_string(world.size) +
                               " ranks joined within " + fmt::format("{:g}", config.rendezvous_timeout_seconds) +
                               " s (distributed.rendezvous_timeout_seconds); missing: rank " + missing);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::vector<PeerProcess> peers;
  for (int r = 0; r < world.size; ++r) {
    peers.push_back(PeerProcess::parse(text_of(store.get("peer/" + std::to_string(r)))));
  }
  return peers;
}

std::vector<std::string> gather(c10d::Store& store, const std::string& prefix, const std::string& mine,
                                const World& world, double seconds) {
  store.set(prefix + "/" + std::to_string(world.rank), bytes_of(mine));
  std::vector<std::string> keys, values;
  for (int r = 0; r < world.size; ++r) keys.push_back(prefix + "/" + std::to_string(r));
  store.wait(keys, from_seconds(seconds));
  for (const auto& key : keys) values.push_back(text_of(store.get(key)));
  return values;
}

}  // namespace nmt
#endif
