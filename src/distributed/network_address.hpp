// Which local address a rank advertises to its peers, and whether a peer's address answers: the
// kernel's route to MASTER_ADDR, an interface's address, and a bounded TCP connect.
#pragma once
#include <optional>
#include <string>

namespace nmt {

struct LocalAddress {
  std::string address;    // numeric, IPv4 or IPv6
  std::string interface;  // the interface that holds it ("" if none does)
};

bool is_loopback_address(const std::string& address);  // 127.0.0.0/8, ::1, "localhost"

// The address and interface this host uses to reach `host` (a name or a numeric address): the
// local end of a UDP socket connected to it, which sends nothing. Throws naming `host` if it does
// not resolve or no route leads to it.
LocalAddress route_to(const std::string& host);

// The first IPv4 address of interface `name` (else its first IPv6 one). Throws naming the
// interfaces this host has if it has no such interface or the interface has no address.
LocalAddress address_of_interface(const std::string& name);

// "lo 127.0.0.1, eth0 10.0.0.2": for messages.
std::string list_interfaces();

// A TCP socket listening on `address` at a port the kernel picks; closed when destroyed. The
// kernel completes connections to it without an accept: it only shows that the address answers.
class ProbeListener {
 public:
  explicit ProbeListener(const std::string& address);
  ~ProbeListener();
  ProbeListener(const ProbeListener&) = delete;
  ProbeListener& operator=(const ProbeListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Connects to address:port within `seconds`; nullopt on success, else why not ("Connection
// refused", "no answer within 3 s").
std::optional<std::string> try_connect(const std::string& address, int port, double seconds);

}  // namespace nmt
