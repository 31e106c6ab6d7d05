#include "runtime/signals.hpp"

#include <atomic>
#include <csignal>

namespace nmt {
namespace {
std::atomic<int> requested_signal{0};
extern "C" void on_stop_signal(int signal) { requested_signal.store(signal); }
}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_signal() { return requested_signal.load(); }

}  // namespace nmt
