// Where this process stands in a data-parallel run: the torchrun environment, read once.
#pragma once
#include <string>

namespace nmt {

struct World {
  int rank = 0, size = 1;              // RANK, WORLD_SIZE
  int local_rank = 0, local_size = 1;  // LOCAL_RANK, LOCAL_WORLD_SIZE: the processes on this machine
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
  bool agent_store = false;  // TORCHELASTIC_USE_AGENT_STORE=True: torchrun's agent hosts the store
  int restart_count = 0;     // TORCHELASTIC_RESTART_COUNT
  bool distributed() const { return size > 1; }
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT and torchrun's
// own variables; no WORLD_SIZE means one process. Throws naming the variable that is wrong.
World world_from_environment();

}  // namespace nmt
