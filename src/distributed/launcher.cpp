#include "distributed/launcher.hpp"

#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include "distributed/network_address.hpp"

namespace nmt {
namespace {

std::atomic<int> forwarded_signal{0};
extern "C" void on_launcher_signal(int signal) { forwarded_signal.store(signal); }

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  if (cpus.empty())
    for (unsigned cpu = 0; cpu < std::max(1u, std::thread::hardware_concurrency()); ++cpu)
      cpus.push_back(static_cast<int>(cpu));
  return cpus;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int free_local_port() { return ProbeListener("127.0.0.1").port(); }

int launch_workers(const LaunchOptions& options, const std::vector<std::string>& arguments) {
  if (std::getenv("RANK") && std::getenv("WORLD_SIZE"))
    throw std::runtime_error("--nproc-per-node: RANK and WORLD_SIZE are already set (under torchrun or another "
                             "launcher): start workers with one launcher only");
  if (options.node_rank < 0 || options.node_rank >= options.nnodes)
    throw std::runtime_error("--node-rank " + std::to_string(options.node_rank) + " is not in [0, --nnodes " +
                             std::to_string(options.nnodes) + ")");
  const int port = options.master_port > 0 ? options.master_port : options.nnodes == 1 ? free_local_port() : 29500;
  const int world = options.nnodes * options.nproc_per_node;
  const std::vector<int> cpus = allowed_cpus();
  const int share = std::max<int>(1, static_cast<int>(cpus.size()) / options.nproc_per_node);
  spdlog::info("starting {} worker processes (world size {}, store {}:{}), {} core{} each", options.nproc_per_node,
               world, options.master_addr, port, share, share == 1 ? "" : "s");

  struct sigaction action {};
  action.sa_handler = on_launcher_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  std::map<pid_t, int> running;  // pid -> local rank
  const pid_t launcher = getpid();
  for (int local = 0; local < options.nproc_per_node; ++local) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("cannot start a worker: ") + std::strerror(errno));
    if (pid == 0) {
      // A launcher killed outright takes its workers along, so that the other hosts' ranks see
      // this host's go and stop, instead of training on beside orphans.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != launcher) _exit(128 + SIGKILL);
      const int rank = options.node_rank * options.nproc_per_node + local;
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(options.nproc_per_node).c_str(), 1);
      setenv("MASTER_ADDR", options.master_addr.c_str(), 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      unsetenv("TORCHELASTIC_USE_AGENT_STORE");
      if (!options.threads_given) setenv("OMP_NUM_THREADS", std::to_string(share).c_str(), 1);
      if (static_cast<int>(cpus.size()) >= options.nproc_per_node) {
        // Each worker on cores of its own: no migrations, no two GEMMs on one core.
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int i = local * share; i < (local + 1) * share; ++i) CPU_SET(cpus[static_cast<size_t>(i)], &set);
        sched_setaffinity(0, sizeof(set), &set);
      }
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      std::vector<char*> argv;
      static const char self[] = "/proc/self/exe";
      argv.push_back(const_cast<char*>(self));
      for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
      argv.push_back(nullptr);
      execv(self, argv.data());
      std::fprintf(stderr, "nmt: cannot start worker: %s\n", std::strerror(errno));
      _exit(127);
    }
    running[pid] = local;
  }

  using Clock = std::chrono::steady_clock;
  int first_failure = 0, forwarded = 0;
  std::optional<Clock::time_point> kill_at;
  while (!running.empty()) {
    if (const int signal = forwarded_signal.load(); signal && signal != forwarded) {
      for (const auto& [pid, local] : running) kill(pid, signal);
      forwarded = signal;
    }
    if (kill_at && Clock::now() >= *kill_at) {
      for (const auto& [pid, local] : running) {
        spdlog::error("worker {} (pid {}) still runs 30 s after a failure: killing it", local, pid);
        kill(pid, SIGKILL);
      }
      kill_at.reset();  // once: the killed workers are reaped below
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const int code = exit_code(status);
    if (code != 0) {
      // After a failure or a forwarded signal the others' exits are expected.
      spdlog::log(first_failure || forwarded ? spdlog::level::info : spdlog::level::err,
                  "worker {} (pid {}) exited with code {}", it->second, pid, code);
      if (!first_failure) {
        first_failure = code;
        kill_at = Clock::now() + std::chrono::seconds(30);
      }
    }
    running.erase(it);
  }
  return first_failure;
}

}  // namespace nmt
