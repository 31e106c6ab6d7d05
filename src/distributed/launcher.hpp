// `nmt train --nproc-per-node N`: starts the worker processes of one machine with the torchrun
// environment, as torchrun would, so the same workers run under either.
#pragma once
#include <string>
#include <vector>

namespace nmt {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: a free port on one machine; 29500 (torchrun's) across machines
  bool threads_given = false;  // --threads was passed: workers keep it instead of a share of the cores
};

// Runs `arguments` (argv[1..] of a worker) nproc_per_node times with RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, each worker on its own share of
// this process's cores (OMP_NUM_THREADS and CPU affinity). SIGINT/SIGTERM are forwarded. Returns
// the exit code of the first worker that fails (128+signal for one killed by a signal), 0 when
// all succeed; workers still running 30 s after a failure are killed.
int launch_workers(const LaunchOptions& options, const std::vector<std::string>& arguments);

// A TCP port on 127.0.0.1 that is free now.
int free_local_port();

}  // namespace nmt
