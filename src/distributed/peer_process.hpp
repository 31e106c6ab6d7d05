// What one rank can tell of another's process for a failure message: its host, its pid, and,
// when it runs on this host, whether it has exited or is stopped.
#pragma once
#include <cstdint>
#include <string>

namespace nmt {

std::string host_name();

struct PeerProcess {
  std::string host;
  int64_t pid = 0;
  std::string address, interface, how;  // what it advertises to the group, and why that address

  static PeerProcess parse(const std::string& record);  // from record()
  std::string record() const;                           // one line per field, for the store
};

// "has exited", "is stopped", "is running" or "is on another machine". A killed process resets
// its connections while the kernel still tears it down: `settle` waits up to 0.5 s for it to
// show as exited.
std::string process_state(const PeerProcess& peer, bool settle);

}  // namespace nmt
