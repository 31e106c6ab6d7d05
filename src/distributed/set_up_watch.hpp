// While a data-parallel group sets itself up, a thread on every rank beats in the store; rank 0
// watches every rank's beat and the others rank 0's. A rank that fails says why under "abort",
// and a rank that falls silent for 5 s has died (rank 0 then posts the abort). Either way every other rank logs the phase, the peer and the cause, and exits
// with kPeerFailureExit within seconds, instead of waiting out a connect time-out.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "distributed/c10d_headers.hpp"

namespace nmt {

#ifdef NMT_C10D
class SetUpWatch {
 public:
  // `store`: a client of its own, used by the watching thread alone.
  SetUpWatch(c10::intrusive_ptr<c10d::Store> store, int rank, int size, std::string store_address);
  ~SetUpWatch();  // marks this rank as set up and stops watching
  SetUpWatch(const SetUpWatch&) = delete;
  SetUpWatch& operator=(const SetUpWatch&) = delete;

  void enter(const char* phase) { phase_.store(phase); }
  // Tells the others that this rank failed, then returns so that the caller can throw. Rank 0,
  // whose process hosts the store, first gives the others up to 1.5 s to read it.
  void abort(const std::string& message);

  static constexpr double kSilenceSeconds = 5;

 private:
  void watch();
  // The store writes of abort(); rank 0 then waits for `readers` ranks to have read the notice.
  void announce(const std::string& message, int readers);
  // Rank 0, whose process holds the store, gives `readers` ranks (itself included) up to 1.5 s to read a notice.
  void linger(int readers);
  [[noreturn]] void give_up(const std::string& message);

  c10::intrusive_ptr<c10d::Store> store_;
  int rank_, size_;
  std::string store_address_;
  std::atomic<const char*> phase_{"connecting to the store"};
  std::atomic<bool> done_{false}, aborting_{false};
  std::thread thread_;
};
#endif

}  // namespace nmt
