// Peers' processes, seen from /proc when they share this host.
#include "distributed/peer_process.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace nmt {
namespace {

std::string local_state(int64_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return "has exited";
  const auto paren = line.rfind(')');
  const char state = paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
  if (state == 'Z' || state == 'X') return "has exited";
  if (state == 'T' || state == 't') return "is stopped";
  return "is running";
}

}  // namespace

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

PeerProcess PeerProcess::parse(const std::string& record) {
  std::istringstream lines(record);
  PeerProcess peer;
  std::string pid;
  std::getline(lines, peer.host);
  std::getline(lines, pid);
  std::getline(lines, peer.address);
  std::getline(lines, peer.interface);
  std::getline(lines, peer.how);
  peer.pid = pid.empty() ? 0 : std::stoll(pid);
  return peer;
}

std::string PeerProcess::record() const {
  return host + "\n" + std::to_string(pid) + "\n" + address + "\n" + interface + "\n" + how;
}

std::string process_state(const PeerProcess& peer, bool settle) {
  if (peer.host != host_name()) return "is on another machine";
  std::string state = local_state(peer.pid);
  for (int wait = 0; settle && wait < 25 && state == "is running"; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    state = local_state(peer.pid);
  }
  return state;
}

}  // namespace nmt
