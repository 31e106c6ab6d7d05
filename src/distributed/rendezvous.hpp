// How the ranks of a data-parallel run meet before c10d connects them: the store at
// MASTER_ADDR:MASTER_PORT, every rank claiming its RANK, and each learning who the others are.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "distributed/c10d_headers.hpp"
#include "distributed/peer_process.hpp"
#include "distributed/world.hpp"

namespace nmt {

#ifdef NMT_C10D
std::chrono::milliseconds from_seconds(double seconds);  // for the store's and c10d's time-outs

// A store value from text, and back.
std::vector<uint8_t> bytes_of(const std::string& text);
std::string text_of(const std::vector<uint8_t>& bytes);

// The run's store, under the run's prefixes. `server`: this process hosts it (rank 0, unless
// torchrun's agent does). Throws naming the address and the likely cause.
c10::intrusive_ptr<c10d::Store> connect_store(const World& world, const DistributedConfig& config, bool server);

// Claims this rank and waits for all to join, up to distributed.rendezvous_timeout_seconds;
// returns every rank's host and pid.
std::vector<PeerProcess> join(c10d::Store& store, const World& world, const DistributedConfig& config);

// A set-up failure every rank found from the same facts in the store: all of them throw it,
// so none needs to tell the others.
struct AgreedSetUpFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Waits until every rank has written `prefix`/<rank>, up to `seconds`; returns their values.
std::vector<std::string> gather(c10d::Store& store, const std::string& prefix, const std::string& mine,
                                const World& world, double seconds);
#endif

}  // namespace nmt
