// The harness of the data-parallel tests: tiny toy runs, ranks started as torchrun starts them,
// `nmt train --nproc-per-node 2`, bounded waits, and comparisons of their results.
#pragma once
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "bundle/checkpoint.hpp"
#include "bundle/model_dir.hpp"
#include "bundle/trained_model.hpp"
#include "distributed/launcher.hpp"
#include "distributed/process_group.hpp"
#include "distributed/world.hpp"
#include "runtime/files.hpp"
#include "../tiny_training.hpp"

namespace nmt::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline Config parallel_config(const std::string& dir) {
  Config config = test::tiny_training_config(dir);
  config.model.dropout = 0;  // the comparisons below are of deterministic updates
  config.training.max_steps = 50;
  config.training.valid_every = 25;
  config.distributed.timeout_seconds = 10;
  config.distributed.rendezvous_timeout_seconds = 10;
  return config;
}

// A preprocessed toy run that trains until it is stopped, its config written to dir/config.yaml.
inline Config endless_run(const std::string& dir) {
  Config config = parallel_config(dir);
  config.training.max_steps = 1000000;
  config.training.valid_every = 1000000;
  preprocess(config, false);
  write_text_atomically(dir + "/config.yaml", dump_config(config));
  return config;
}

inline void expect_identical(const std::vector<torch::Tensor>& expected, const std::vector<torch::Tensor>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(torch::equal(expected[i], actual[i])) << "parameter " << i;
}

inline std::string read_all(const std::string& path) { return fs::exists(path) ? read_text_file(path) : ""; }

// `nmt train` as rank `rank` of `world`, as torchrun would start it; stderr goes to `log`.
inline pid_t start_rank(const std::string& config_path, int rank, int world, int port, const std::string& log,
                 const std::vector<std::string>& extra = {}) {
  const pid_t child = fork();
  if (child == 0) {
    setenv("RANK", std::to_string(rank).c_str(), 1);
    setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
    setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
    setenv("LOCAL_WORLD_SIZE", std::to_string(world).c_str(), 1);
    setenv("MASTER_ADDR", "127.0.0.1", 1);
    setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    freopen(log.c_str(), "w", stderr);
    std::vector<std::string> arguments = {NMT_BINARY, "train", "--config", config_path};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    execv(NMT_BINARY, argv.data());
    _exit(127);
  }
  return child;
}

// The exit code of `pid` (128+signal if killed), or -1 if it runs past `seconds`: then it is killed.
inline int wait_exit(pid_t pid, double seconds, double* took = nullptr) {
  const auto start = Clock::now();
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::duration<double>(Clock::now() - start).count() > seconds) {
      kill(pid, SIGCONT);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (took) *took = std::chrono::duration<double>(Clock::now() - start).count();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs `nmt train --nproc-per-node 2` on `config` (after `environment`, e.g. "NAME=value") and
// returns its exit code.
inline int launch_two(const Config& config, const std::string& dir, const std::string& extra = "",
               const std::string& environment = "") {
  write_text_atomically(dir + "/config.yaml", dump_config(config));
  std::string output;
  const int code = test::run_command(environment + " timeout -k 5 240 " + std::string(NMT_BINARY) +
                                         " train --config " + dir + "/config.yaml --nproc-per-node 2 " + extra +
                                         " 2>" + dir + "/launch.log",
                                     &output);
  return code;
}

inline std::vector<torch::Tensor> parameters_at(const Config& config, int64_t step) {
  return load_trained_model(config.training.dir, checkpoint_file(config.training.dir, step), torch::kCPU)
      .module()
      .parameters();
}

inline double largest_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double largest = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    largest = std::max(largest, (a[i] - b[i]).abs().max().item<double>());
  return largest;
}

// Waits until the run in `model_dir` has logged step `step` (log_every 1).
inline bool wait_for_step(const std::string& model_dir, int64_t step, double seconds = 60) {
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    const auto losses = test::train_losses(model_dir);
    if (!losses.empty() && losses.rbegin()->first >= step) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

inline int count(const std::string& text, const std::string& what) {
  int found = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++found;
  return found;
}

// The reference: one process trained on freshly preprocessed data in dir/one.
inline Config trained_by_one_process(const std::string& dir) {
  Config one = parallel_config(dir + "/one");
  preprocess(one, false);
  EXPECT_EQ(train(one, {}), 0);
  return one;
}

// A run in dir/name on the reference's data.
inline Config run_beside(const Config& one, const std::string& dir, const std::string& name) {
  Config config = parallel_config(dir + "/" + name);
  config.data.dir = one.data.dir;
  return config;
}

// Two ranks of an endless run in `dir`, started and training.
struct EndlessPair {
  Config config;
  std::string config_path;
  int port = 0;
  pid_t rank0 = -1, rank1 = -1;
};

inline EndlessPair start_endless_pair(const std::string& dir) {
  EndlessPair pair{endless_run(dir), dir + "/config.yaml", free_local_port()};
  pair.rank0 = start_rank(pair.config_path, 0, 2, pair.port, dir + "/rank0.log");
  pair.rank1 = start_rank(pair.config_path, 1, 2, pair.port, dir + "/rank1.log");
  return pair;
}

}  // namespace nmt::test
