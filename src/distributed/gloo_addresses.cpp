// Choosing, publishing and probing the ranks' Gloo addresses.
#include "distributed/gloo_addresses.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <sstream>

#include "distributed/network_address.hpp"
#include "distributed/rendezvous.hpp"

#ifdef NMT_C10D
namespace nmt {
namespace {

constexpr double kProbeSeconds = 3;

struct InterfaceSetting {
  std::vector<std::string> names;  // several make several devices, as in PyTorch
  std::string source;              // the key or variable that named them
};

InterfaceSetting interface_setting(const DistributedConfig& config) {
  InterfaceSetting setting;
  std::string names = config.interface;
  setting.source = "distributed.interface";
  if (names.empty())
    if (const char* variable = std::getenv("GLOO_SOCKET_IFNAME")) {
      names = variable;
      setting.source = "GLOO_SOCKET_IFNAME";
    }
  std::istringstream list(names);
  for (std::string name; std::getline(list, name, ',');)
    if (!name.empty()) setting.names.push_back(name);
  return setting;
}

// This rank's address before it has seen the others': settled unless the route to MASTER_ADDR
// is loopback on a run that spans hosts (MASTER_ADDR names this host, resolved to 127.0.1.1).
struct FirstChoice {
  LocalAddress local;
  std::string how;
  bool settled = true;
};

FirstChoice first_choice(const InterfaceSetting& setting, const World& world) {
  if (!setting.names.empty()) {
    try {
      return {address_of_interface(setting.names.front()), "set by " + setting.source};
    } catch (const std::exception& e) {
      throw std::runtime_error(setting.source + ": " + e.what());
    }
  }
  if (is_loopback_address(world.master_addr)) return {{"127.0.0.1", "lo"}, "MASTER_ADDR is a loopback address"};
  const LocalAddress route = route_to(world.master_addr);
  if (!is_loopback_address(route.address)) return {route, "the route to MASTER_ADDR " + world.master_addr};
  return {route, "", false};
}

// Another host's address to route to when MASTER_ADDR is this host under a loopback name.
void settle(FirstChoice& mine, const World& world, const std::vector<std::string>& routes) {
  for (int r = 0; r < world.size; ++r) {
    std::istringstream fields(routes[static_cast<size_t>(r)]);
    std::string settled, address;
    fields >> settled >> address;
    if (r == world.rank || settled != "1" || is_loopback_address(address)) continue;
    mine.local = route_to(address);
    mine.how = fmt::format("the route to rank {} at {} (MASTER_ADDR {} is this host, seen over loopback)", r, address,
                           world.master_addr);
    return;
  }
  mine.local = {"127.0.0.1", "lo"};
  mine.how = "every rank reaches MASTER_ADDR " + world.master_addr + " over loopback";
}

struct Advertised {
  std::string address, interface, how, interfaces;
  int port = 0;
  std::string record() const {
    return address + "\n" + interface + "\n" + how + "\n" + std::to_string(port) + "\n" + interfaces;
  }
  static Advertised parse(const std::string& text) {
    std::istringstream lines(text);
    Advertised advertised;
    std::string port;
    std::getline(lines, advertised.address);
    std::getline(lines, advertised.interface);
    std::getline(lines, advertised.how);
    std::getline(lines, port);
    std::getline(lines, advertised.interfaces);
    advertised.port = std::stoi(port);
    return advertised;
  }
};

std::string unreachable_message(int rank, const Advertised& address, const std::string& failures) {
  const bool user_set = address.how.rfind("set by ", 0) == 0;
  return fmt::format(
      "rank {} advertises {} (interface {}, {}), which {}. Every rank must reach every other's address: on rank "
      "{}'s host (which has {}) {}",
      rank, address.address, address.interface.empty() ? "unknown" : address.interface, address.how, failures, rank,
      address.interfaces,
      user_set ? "set distributed.interface or GLOO_SOCKET_IFNAME to the interface of the network the hosts share, "
                 "or unset both to use the route to MASTER_ADDR"
               : "set distributed.interface (or GLOO_SOCKET_IFNAME) to the interface of the network the hosts share");
}

}  // namespace

std::vector<std::shared_ptr<::gloo::transport::Device>> gloo_devices(c10d::Store& store, const World& world,
                                                                     const DistributedConfig& config,
                                                                     std::vector<PeerProcess>& peers) {
  const InterfaceSetting setting = interface_setting(config);
  FirstChoice mine = first_choice(setting, world);
  const auto routes = gather(store, "route", fmt::format("{} {}", mine.settled ? 1 : 0, mine.local.address), world,
                             config.rendezvous_timeout_seconds);
  if (!mine.settled) settle(mine, world, routes);

  // Each rank listens where Gloo will, and every rank tries every other's listener.
  ProbeListener listener(mine.local.address);
  const Advertised self{mine.local.address, mine.local.interface, mine.how, list_interfaces(), listener.port()};
  std::vector<Advertised> advertised;
  for (const auto& record : gather(store, "address", self.record(), world, config.rendezvous_timeout_seconds))
    advertised.push_back(Advertised::parse(record));
  std::vector<std::pair<int, std::future<std::optional<std::string>>>> probes;
  for (int r = 0; r < world.size; ++r)
    if (r != world.rank) {
      const auto& other = advertised[static_cast<size_t>(r)];
      probes.emplace_back(r, std::async(std::launch::async, try_connect, other.address, other.port, kProbeSeconds));
    }
  std::string failures;  // lines of "peer reason"
  for (auto& [r, probe] : probes)
    if (const auto failure = probe.get()) failures += fmt::format("{} {}\n", r, *failure);
  const auto reached = gather(store, "reached", failures, world, config.rendezvous_timeout_seconds);

  std::string message;
  for (int target = 0; target < world.size; ++target) {
    std::string who;
    for (int r = 0; r < world.size; ++r) {
      std::istringstream lines(reached[static_cast<size_t>(r)]);
      for (std::string line; std::getline(lines, line);) {
        const auto space = line.find(' ');
        if (std::stoi(line.substr(0, space)) == target)
          who += fmt::format("{}rank {} cannot reach ({})", who.empty() ? "" : ", ", r, line.substr(space + 1));
      }
    }
    if (!who.empty())
      message += (message.empty() ? "" : "; ") +
                 unreachable_message(target, advertised[static_cast<size_t>(target)], who);
  }
  for (int r = 0; r < world.size; ++r) {
    auto& peer = peers[static_cast<size_t>(r)];
    peer.address = advertised[static_cast<size_t>(r)].address;
    peer.interface = advertised[static_cast<size_t>(r)].interface;
    peer.how = advertised[static_cast<size_t>(r)].how;
  }
  if (!message.empty()) {
    // Rank 0's process holds the store: it leaves once the others have read what failed.
    store.set("reached/read/" + std::to_string(world.rank), bytes_of(""));
    if (world.rank == 0) {
      std::vector<std::string> keys;
      for (int r = 0; r < world.size; ++r) keys.push_back("reached/read/" + std::to_string(r));
      try {
        store.wait(keys, std::chrono::seconds(2));
      } catch (const std::exception&) {
        // A rank that has not read it by now learns of the failure from the store's loss.
      }
    }
    throw AgreedSetUpFailure(message);
  }

  std::vector<std::shared_ptr<::gloo::transport::Device>> devices;
  if (setting.names.empty()) devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(mine.local.address));
  for (const auto& name : setting.names) devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
  return devices;
}

}  // namespace nmt
#endif
