// The set-up watch: heartbeats and abort notices in the store, read by a thread on every rank.
#include "distributed/set_up_watch.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <vector>

#include "distributed/peer_process.hpp"
#include "distributed/process_group.hpp"
#include "distributed/rendezvous.hpp"

#ifdef NMT_C10D
namespace nmt {
namespace {

using Clock = std::chrono::steady_clock;

std::string beat_key(int rank) { return "setup/beat/" + std::to_string(rank); }
std::string ready_key(int rank) { return "setup/ready/" + std::to_string(rank); }

}  // namespace

SetUpWatch::SetUpWatch(c10::intrusive_ptr<c10d::Store> store, int rank, int size, std::string store_address)
    : store_(std::move(store)), rank_(rank), size_(size), store_address_(std::move(store_address)) {
  thread_ = std::thread([this] { watch(); });
}

SetUpWatch::~SetUpWatch() {
  done_.store(true);
  if (thread_.joinable()) thread_.join();
  if (aborting_.load()) return;
  try {
    store_->set(ready_key(rank_), bytes_of(""));
  } catch (const std::exception&) {
    // The group was made: the collectives report trouble from here on.
  }
}

void SetUpWatch::abort(const std::string& message) {
  aborting_.store(true);
  done_.store(true);
  if (thread_.joinable()) thread_.join();
  announce(message, size_);
}

void SetUpWatch::announce(const std::string& message, int readers) {
  try {
    if (store_->add("setup/aborted", 1) == 1)
      store_->set("setup/abort", bytes_of(std::to_string(rank_) + "\n" + phase_.load() + "\n" + message));
    store_->add("setup/abort/read", 1);
    linger(readers);
  } catch (const std::exception&) {
    // The store is gone: the others learn of it from that.
  }
}

void SetUpWatch::linger(int readers) {
  if (rank_ != 0) return;
  const auto deadline = Clock::now() + std::chrono::milliseconds(1500);
  while (store_->add("setup/abort/read", 0) < readers && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void SetUpWatch::give_up(const std::string& message) {
  spdlog::error("rank {}: {}", rank_, message);
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  std::_Exit(kPeerFailureExit);
}

void SetUpWatch::watch() {
  std::vector<int64_t> beats(static_cast<size_t>(size_), 0);
  std::vector<Clock::time_point> heard(static_cast<size_t>(size_), Clock::now());
  std::vector<bool> ready(static_cast<size_t>(size_), false);
  while (!done_.load()) {
    std::string silent;
    int silent_peer = -1;
    try {
      store_->add(beat_key(rank_), 1);
      if (store_->check({"setup/abort"})) {
        std::istringstream notice(text_of(store_->get("setup/abort")));
        std::string rank, phase, message;
        std::getline(notice, rank);
        std::getline(notice, phase);
        std::getline(notice, message, '\0');
        store_->add("setup/abort/read", 1);
        linger(size_);
        give_up("rank " + rank + " failed during " + phase + ": " + message);
      }
      // Rank 0 watches every rank and the others watch rank 0: O(N) store calls a round, and a
      // silence rank 0 finds reaches everyone through its abort notice.
      for (int peer = 0; peer < size_ && silent.empty(); ++peer) {
        const auto r = static_cast<size_t>(peer);
        if (peer == rank_ || ready[r] || (rank_ != 0 && peer != 0)) continue;
        if (store_->check({ready_key(peer)})) {
          ready[r] = true;
          continue;
        }
        const int64_t beat = store_->add(beat_key(peer), 0);
        if (beat != beats[r]) {
          beats[r] = beat;
          heard[r] = Clock::now();
        }
        if (beat == 0) continue;  // not yet joined: the rendezvous waits for it
        if (Clock::now() - heard[r] > std::chrono::duration<double>(kSilenceSeconds)) {
          const std::string key = "peer/" + std::to_string(peer);
          const auto process = store_->check({key}) ? PeerProcess::parse(text_of(store_->get(key))) : PeerProcess{};
          silent = fmt::format("rank {} (pid {} on {}) fell silent during {}: nothing from it for {:g} s; it {}", peer,
                               process.pid, process.host, phase_.load(), kSilenceSeconds,
                               process_state(process, false));
          silent_peer = peer;
        }
      }
    } catch (const std::exception& e) {
      if (done_.load()) break;
      give_up(fmt::format("lost the store at {} (rank 0's process holds it) during {}: {}; rank 0 has exited or its "
                          "host cannot be reached",
                          store_address_, phase_.load(), e.what()));
    }
    if (!silent.empty()) {
      // The readers rank 0 waits for (the others do not wait): itself and the peers it has heard
      // that are still setting up; not the silent one, nor those that never joined.
      int readers = 1;
      for (int peer = 0; peer < size_; ++peer) {
        const auto r = static_cast<size_t>(peer);
        readers += peer != rank_ && peer != silent_peer && beats[r] > 0 && !ready[r];
      }
      announce(silent, readers);
      give_up(silent);
    }
    for (int slice = 0; slice < 10 && !done_.load(); ++slice) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace nmt
#endif
