// Local addresses from the kernel: routes, interfaces, and a bounded connect.
#include "distributed/network_address.hpp"

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

namespace nmt {
namespace {

std::string numeric(const sockaddr* address, socklen_t length) {
  char text[NI_MAXHOST] = {};
  if (getnameinfo(address, length, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) != 0) return "";
  return text;
}

socklen_t length_of(const sockaddr* address) {
  return address->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// Every address of every interface that is up, IPv4 first, in the kernel's order.
template <typename Visit>
void for_each_address(Visit visit) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) throw std::runtime_error(std::string("cannot list network interfaces: ") + std::strerror(errno));
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owned(list, freeifaddrs);
  for (const int family : {AF_INET, AF_INET6})
    for (const ifaddrs* entry = list; entry; entry = entry->ifa_next)
      if (entry->ifa_addr && entry->ifa_addr->sa_family == family && (entry->ifa_flags & IFF_UP))
        if (visit(std::string(entry->ifa_name), numeric(entry->ifa_addr, length_of(entry->ifa_addr)))) return;
}

struct Resolved {
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list{nullptr, freeaddrinfo};
};

Resolved resolve(const std::string& host, int socket_type, const std::string& port = "9") {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socket_type;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  if (const int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &list); error != 0)
    throw std::runtime_error("cannot resolve '" + host + "': " + gai_strerror(error));
  Resolved resolved;
  resolved.list.reset(list);
  return resolved;
}

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

bool is_loopback_address(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

LocalAddress route_to(const std::string& host) {
  const Resolved resolved = resolve(host, SOCK_DGRAM);
  std::string last_error = "no address";
  for (const addrinfo* candidate = resolved.list.get(); candidate; candidate = candidate->ai_next) {
    Descriptor fd(socket(candidate->ai_family, SOCK_DGRAM, 0));
    if (fd.get() < 0 || connect(fd.get(), candidate->ai_addr, candidate->ai_addrlen) != 0) {
      last_error = std::strerror(errno);
      continue;
    }
    sockaddr_storage local{};
    socklen_t length = sizeof(local);
    if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &length) != 0) {
      last_error = std::strerror(errno);
      continue;
    }
    LocalAddress found{numeric(reinterpret_cast<sockaddr*>(&local), length), ""};
    for_each_address([&](const std::string& name, const std::string& address) {
      if (address != found.address) return false;
      found.interface = name;
      return true;
    });
    return found;
  }
  throw std::runtime_error("no route from this host to '" + host + "': " + last_error);
}

LocalAddress address_of_interface(const std::string& name) {
  std::optional<LocalAddress> found;
  for_each_address([&](const std::string& interface, const std::string& address) {
    if (interface != name) return false;
    found = LocalAddress{address, interface};
    return true;
  });
  if (!found)
    throw std::runtime_error("this host has no interface '" + name + "' that is up with an address (it has: " +
                             list_interfaces() + ")");
  return *found;
}

std::string list_interfaces() {
  std::string list;
  for_each_address([&](const std::string& name, const std::string& address) {
    if (address.rfind("fe80:", 0) == 0) return false;  // link-local: never a peer's route
    list += (list.empty() ? "" : ", ") + name + " " + address;
    return false;
  });
  return list.empty() ? "none" : list;
}

ProbeListener::ProbeListener(const std::string& address) {
  const Resolved resolved = resolve(address, SOCK_STREAM, "0");
  const addrinfo* where = resolved.list.get();
  fd_ = socket(where->ai_family, SOCK_STREAM, 0);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (fd_ < 0 || bind(fd_, where->ai_addr, where->ai_addrlen) != 0 || listen(fd_, 64) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    const std::string error = std::strerror(errno);
    if (fd_ >= 0) close(fd_);
    throw std::runtime_error("cannot listen on " + address + ": " + error);
  }
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

ProbeListener::~ProbeListener() {
  if (fd_ >= 0) close(fd_);
}

std::optional<std::string> try_connect(const std::string& address, int port, double seconds) {
  const Resolved resolved = resolve(address, SOCK_STREAM, std::to_string(port));
  const addrinfo* where = resolved.list.get();
  Descriptor fd(socket(where->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return std::string(std::strerror(errno));
  if (connect(fd.get(), where->ai_addr, where->ai_addrlen) == 0) return std::nullopt;
  if (errno != EINPROGRESS) return std::string(std::strerror(errno));
  pollfd waiting{fd.get(), POLLOUT, 0};
  const int ready = poll(&waiting, 1, static_cast<int>(seconds * 1000));
  if (ready == 0) return fmt::format("no answer within {:g} s", seconds);
  if (ready < 0) return std::string(std::strerror(errno));
  int error = 0;
  socklen_t length = sizeof(error);
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return std::string(std::strerror(error));
  return std::nullopt;
}

}  // namespace nmt
