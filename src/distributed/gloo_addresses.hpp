// The address each rank's Gloo device advertises to the others, and the check, before Gloo
// connects, that every rank reaches every other's address. By default a rank takes the local
// end of its route to MASTER_ADDR (the host name may resolve to 127.0.1.1 or to a network the
// peers do not share); distributed.interface or GLOO_SOCKET_IFNAME name an interface instead.
#pragma once
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "distributed/c10d_headers.hpp"
#include "distributed/peer_process.hpp"
#include "distributed/world.hpp"

namespace nmt {

#ifdef NMT_C10D
// Fills each peer's address, interface and reason, checks that all reach all, and returns this
// rank's devices. Throws AgreedSetUpFailure, on every rank alike, naming each address some rank
// cannot reach, its interface and the setting that fixes it.
std::vector<std::shared_ptr<::gloo::transport::Device>> gloo_devices(c10d::Store& store, const World& world,
                                                                     const DistributedConfig& config,
                                                                     std::vector<PeerProcess>& peers);
#endif

}  // namespace nmt
