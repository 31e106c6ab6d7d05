// Data-parallel training with real processes: 2 ranks x 1 thread on 127.0.0.1, a free port per
// run, every process reaped, bounded waits. CTest runs these one at a time (RESOURCE_LOCK).
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

namespace fs = std::filesystem;
using namespace nmt;
using Clock = std::chrono::steady_clock;

namespace {

Config parallel_config(const std::string& dir) {
  Config config = test::tiny_training_config(dir);
  config.model.dropout = 0;  // the comparisons below are of deterministic updates
  config.training.max_steps = 50;
  config.training.valid_every = 25;
  config.distributed.timeout_seconds = 10;
  config.distributed.rendezvous_timeout_seconds = 10;
  return config;
}

// A preprocessed toy run that trains until it is stopped, its config written to dir/config.yaml.
Config endless_run(const std::string& dir) {
  Config config = parallel_config(dir);
  config.training.max_steps = 1000000;
  config.training.valid_every = 1000000;
  preprocess(config, false);
  write_text_atomically(dir + "/config.yaml", dump_config(config));
  return config;
}

void expect_identical(const std::vector<torch::Tensor>& expected, const std::vector<torch::Tensor>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(torch::equal(expected[i], actual[i])) << "parameter " << i;
}

std::string read_all(const std::string& path) { return fs::exists(path) ? read_text_file(path) : ""; }

// `nmt train` as rank `rank` of `world`, as torchrun would start it; stderr goes to `log`.
pid_t start_rank(const std::string& config_path, int rank, int world, int port, const std::string& log,
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
int wait_exit(pid_t pid, double seconds, double* took = nullptr) {
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
int launch_two(const Config& config, const std::string& dir, const std::string& extra = "",
               const std::string& environment = "") {
  write_text_atomically(dir + "/config.yaml", dump_config(config));
  std::string output;
  const int code = test::run_command(environment + " timeout -k 5 240 " + std::string(NMT_BINARY) +
                                         " train --config " + dir + "/config.yaml --nproc-per-node 2 " + extra +
                                         " 2>" + dir + "/launch.log",
                                     &output);
  return code;
}

std::vector<torch::Tensor> parameters_at(const Config& config, int64_t step) {
  return load_trained_model(config.training.dir, checkpoint_file(config.training.dir, step), torch::kCPU)
      .module()
      .parameters();
}

double largest_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double largest = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    largest = std::max(largest, (a[i] - b[i]).abs().max().item<double>());
  return largest;
}

// Waits until the run in `model_dir` has logged step `step` (log_every 1).
bool wait_for_step(const std::string& model_dir, int64_t step, double seconds = 60) {
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    const auto losses = test::train_losses(model_dir);
    if (!losses.empty() && losses.rbegin()->first >= step) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int count(const std::string& text, const std::string& what) {
  int found = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++found;
  return found;
}

// The reference: one process trained on freshly preprocessed data in dir/one.
Config trained_by_one_process(const std::string& dir) {
  Config one = parallel_config(dir + "/one");
  preprocess(one, false);
  EXPECT_EQ(train(one, {}), 0);
  return one;
}

// A run in dir/name on the reference's data.
Config run_beside(const Config& one, const std::string& dir, const std::string& name) {
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

EndlessPair start_endless_pair(const std::string& dir) {
  EndlessPair pair{endless_run(dir), dir + "/config.yaml", free_local_port()};
  pair.rank0 = start_rank(pair.config_path, 0, 2, pair.port, dir + "/rank0.log");
  pair.rank1 = start_rank(pair.config_path, 1, 2, pair.port, dir + "/rank1.log");
  return pair;
}

}  // namespace

TEST(DataParallel, TwoProcessesTrainTheModelOfOneProcessWithTheSameGlobalBatch) {
  const auto dir = test::scratch_dir("dp");
  const Config one = trained_by_one_process(dir);
  const Config two = run_beside(one, dir, "two");
  ASSERT_EQ(launch_two(two, dir), 0) << read_all(dir + "/launch.log");
  const std::string log = read_all(dir + "/launch.log");
  EXPECT_NE(log.find("2 processes, gloo over 127.0.0.1"), std::string::npos) << log;
  // Rank 0 compares the ranks' parameter hashes at the start and after each validation.
  EXPECT_EQ(count(log, "the 2 ranks' parameters agree"), 3) << log;
  EXPECT_LT(largest_difference(parameters_at(one, 50), parameters_at(two, 50)), 1e-5);
  // The same schedule of global batches: same tokens per step, nearly the same losses.
  const auto losses_one = test::train_losses(one.training.dir), losses_two = test::train_losses(two.training.dir);
  ASSERT_EQ(losses_one.size(), 50u);
  ASSERT_EQ(losses_two.size(), 50u);
  for (const auto& [step, loss] : losses_one) EXPECT_NEAR(losses_two.at(step), loss, 1e-4) << step;

  // Two 2-process runs are bit-identical.
  Config again = two;
  again.training.dir = dir + "/again/model";
  ASSERT_EQ(launch_two(again, dir), 0) << read_all(dir + "/launch.log");
  expect_identical(parameters_at(two, 50), parameters_at(again, 50));
  EXPECT_EQ(test::train_losses(again.training.dir), losses_two);
}

TEST(DataParallel, AccumulatedMicroBatchesGiveTheUpdateOfTheWholeBatch) {
  const auto dir = test::scratch_dir("acc");
  const Config whole = trained_by_one_process(dir);
  Config pieces = run_beside(whole, dir, "pieces");
  pieces.training.accumulate = 2;
  ASSERT_EQ(train(pieces, {}), 0);
  EXPECT_LT(largest_difference(parameters_at(whole, 50), parameters_at(pieces, 50)), 1e-5);
  EXPECT_EQ(test::train_losses(whole.training.dir).size(), test::train_losses(pieces.training.dir).size());

  // With two processes as well: 2 ranks x 2 micro-batches.
  Config both = pieces;
  both.training.dir = dir + "/both/model";
  ASSERT_EQ(launch_two(both, dir), 0) << read_all(dir + "/launch.log");
  EXPECT_LT(largest_difference(parameters_at(whole, 50), parameters_at(both, 50)), 1e-5);
}

TEST(DataParallel, EmbeddingRowsInUseSumToWhatTheWholeTablesSum) {
  // Batches of 8 use about a fifth of the toy vocabularies, so the source table is summed by its
  // rows in use; tied to the output layer, the target table has a gradient in every row and is
  // summed whole. Two ranks add the same two numbers either way: bit-identical.
  const auto dir = test::scratch_dir("rows");
  Config one = parallel_config(dir + "/one");
  one.training.batch_size = 8;
  one.model.tie_embeddings = true;
  preprocess(one, false);
  ASSERT_EQ(train(one, {}), 0);
  Config rows = run_beside(one, dir, "rows");
  rows.training.batch_size = 8;
  rows.model.tie_embeddings = true;
  ASSERT_EQ(launch_two(rows, dir), 0) << read_all(dir + "/launch.log");
  EXPECT_LT(largest_difference(parameters_at(one, 50), parameters_at(rows, 50)), 1e-5);
  Config whole = rows;
  whole.training.dir = dir + "/whole/model";
  ASSERT_EQ(launch_two(whole, dir, "", "NMT_ROW_SPARSE_SUMS=0"), 0) << read_all(dir + "/launch.log");
  expect_identical(parameters_at(rows, 50), parameters_at(whole, 50));
  EXPECT_EQ(test::train_losses(whole.training.dir), test::train_losses(rows.training.dir));
}

TEST(DataParallel, ASignalToOneRankStopsAllAtOneStepAndResumesBitIdentically) {
  const auto dir = test::scratch_dir("sig");
  Config straight = parallel_config(dir + "/straight");
  straight.training.max_steps = 120;
  straight.training.valid_every = 1000;
  preprocess(straight, false);
  ASSERT_EQ(launch_two(straight, dir), 0) << read_all(dir + "/launch.log");

  Config stopped = straight;
  stopped.training.dir = dir + "/stopped/model";
  const std::string config_path = dir + "/stopped.yaml";
  write_text_atomically(config_path, dump_config(stopped));
  const int port = free_local_port();
  const pid_t rank0 = start_rank(config_path, 0, 2, port, dir + "/rank0.log");
  const pid_t rank1 = start_rank(config_path, 1, 2, port, dir + "/rank1.log");
  ASSERT_TRUE(wait_for_step(stopped.training.dir, 15));
  kill(rank1, SIGTERM);
  EXPECT_EQ(wait_exit(rank1, 30), 128 + SIGTERM) << read_all(dir + "/rank1.log");
  EXPECT_EQ(wait_exit(rank0, 30), 128 + SIGTERM) << read_all(dir + "/rank0.log");
  const auto latest = read_pointer(stopped.training.dir, "latest");
  ASSERT_TRUE(latest.has_value()) << read_all(dir + "/rank0.log");
  const int64_t stopped_at = read_checkpoint_meta(*latest)["step"];
  ASSERT_GE(stopped_at, 15);
  ASSERT_LT(stopped_at, 120) << "the run ended before the signal";
  EXPECT_NE(read_all(dir + "/rank0.log").find("stopped by signal 15 at step " + std::to_string(stopped_at)),
            std::string::npos);

  // A copy of the stopped run, to resume with one process afterwards.
  fs::copy(dir + "/stopped", dir + "/single", fs::copy_options::recursive);
  ASSERT_EQ(launch_two(stopped, dir, "--resume"), 0) << read_all(dir + "/launch.log");
  const auto expected = test::train_losses(straight.training.dir), resumed = test::train_losses(stopped.training.dir);
  ASSERT_EQ(resumed.size(), expected.size());
  for (const auto& [step, loss] : expected) EXPECT_EQ(resumed.at(step), loss) << step;

  Config single = stopped;
  single.training.dir = dir + "/single/model";
  TrainOptions resume;
  resume.resume = true;
  ASSERT_EQ(train(single, resume), 0);
  const auto continued = test::train_losses(single.training.dir);
  ASSERT_EQ(continued.size(), expected.size());
  // The same data position: step after step the losses stay close to the two-process run's.
  for (const auto& [step, loss] : expected) EXPECT_NEAR(continued.at(step), loss, 1e-3) << step;
  EXPECT_NE(read_all(single.training.dir + "/train.log").find("not bit-identically"), std::string::npos);
}

TEST(DataParallel, AKilledRankMakesTheOtherExitWithinTenSecondsNamingStepAndPeer) {
  const auto dir = test::scratch_dir("kill");
  Config config = endless_run(dir);
  for (const int victim : {1, 0}) {
    config.training.dir = dir + "/model" + std::to_string(victim);
    const std::string config_path = dir + "/config.yaml";
    write_text_atomically(config_path, dump_config(config));
    const int port = free_local_port();
    const pid_t ranks[2] = {start_rank(config_path, 0, 2, port, dir + "/rank0.log"),
                            start_rank(config_path, 1, 2, port, dir + "/rank1.log")};
    ASSERT_TRUE(wait_for_step(config.training.dir, 5));
    kill(ranks[victim], SIGKILL);
    EXPECT_EQ(wait_exit(ranks[victim], 10), 128 + SIGKILL);
    double took = 0;
    const int survivor = 1 - victim;
    EXPECT_EQ(wait_exit(ranks[survivor], 10, &took), kPeerFailureExit) << "victim " << victim;
    EXPECT_LT(took, 10.0);
    const std::string log = read_all(dir + "/rank" + std::to_string(survivor) + ".log");
    EXPECT_NE(log.find("failed at step"), std::string::npos) << log;
    EXPECT_NE(log.find("rank " + std::to_string(victim) + " (pid " + std::to_string(ranks[victim])), std::string::npos)
        << log;
    EXPECT_NE(log.find("has exited"), std::string::npos) << log;
  }
}

TEST(DataParallel, AStoppedRankMakesTheOtherExitWithinTheTimeOut) {
  const auto dir = test::scratch_dir("stop");
  const auto [config, config_path, port, rank0, rank1] = start_endless_pair(dir);
  ASSERT_TRUE(wait_for_step(config.training.dir, 5));
  kill(rank1, SIGSTOP);
  double took = 0;
  EXPECT_EQ(wait_exit(rank0, 15, &took), kPeerFailureExit);
  EXPECT_GE(took, 5.0);  // the 10 s time-out, less the step it was in
  const std::string log = read_all(dir + "/rank0.log");
  EXPECT_NE(log.find("failed at step"), std::string::npos) << log;
  EXPECT_NE(log.find("is stopped"), std::string::npos) << log;
  kill(rank1, SIGKILL);
  kill(rank1, SIGCONT);
  EXPECT_EQ(wait_exit(rank1, 10), 128 + SIGKILL);
}

TEST(DataParallel, StartUpProblemsGetClearMessages) {
  const auto dir = test::scratch_dir("start");
  Config config = parallel_config(dir);
  config.distributed.rendezvous_timeout_seconds = 3;
  preprocess(config, false);
  const std::string config_path = dir + "/config.yaml";
  write_text_atomically(config_path, dump_config(config));

  // A peer that never comes.
  double took = 0;
  pid_t alone = start_rank(config_path, 0, 2, free_local_port(), dir + "/alone.log", {"--overwrite"});
  EXPECT_EQ(wait_exit(alone, 20, &took), 1);
  EXPECT_LT(took, 10.0);
  EXPECT_NE(read_all(dir + "/alone.log").find("only 1 of 2 ranks joined"), std::string::npos)
      << read_all(dir + "/alone.log");
  EXPECT_NE(read_all(dir + "/alone.log").find("missing: rank 1"), std::string::npos);

  // A store that never comes up, seen from rank 1.
  pid_t orphan = start_rank(config_path, 1, 2, free_local_port(), dir + "/orphan.log", {"--overwrite"});
  EXPECT_EQ(wait_exit(orphan, 30, &took), 1);
  EXPECT_LT(took, 20.0);
  EXPECT_NE(read_all(dir + "/orphan.log").find("rank 1 cannot reach the store at 127.0.0.1:"), std::string::npos)
      << read_all(dir + "/orphan.log");

  // A port in use.
  const int busy = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(busy, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(busy, 1), 0);
  getsockname(busy, reinterpret_cast<sockaddr*>(&address), &length);
  pid_t blocked = start_rank(config_path, 0, 2, ntohs(address.sin_port), dir + "/busy.log", {"--overwrite"});
  EXPECT_EQ(wait_exit(blocked, 20), 1);
  close(busy);
  EXPECT_NE(read_all(dir + "/busy.log").find("cannot listen on MASTER_ADDR:MASTER_PORT"), std::string::npos)
      << read_all(dir + "/busy.log");

  // Configs that differ: both ranks stop, and rank 0 names the key.
  const int port = free_local_port();
  const pid_t rank0 = start_rank(config_path, 0, 2, port, dir + "/rank0.log", {"--overwrite"});
  const pid_t rank1 = start_rank(config_path, 1, 2, port, dir + "/rank1.log", {"--overwrite", "--set", "training.lr=0.002"});
  EXPECT_EQ(wait_exit(rank0, 20), 1);
  EXPECT_EQ(wait_exit(rank1, 20), 1);
  const std::string log = read_all(dir + "/rank0.log");
  EXPECT_NE(log.find("rank 1: training: 'lr: 0.002' where rank 0 has 'lr: 0.003'"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(config.training.dir + "/metrics.jsonl"));  // nothing was trained
}

TEST(DataParallel, LauncherForwardsSigtermAndReturnsTheWorkersCode) {
  const auto dir = test::scratch_dir("launch");
  const Config config = endless_run(dir);
  const pid_t launcher = fork();
  if (launcher == 0) {
    freopen((dir + "/launch.log").c_str(), "w", stderr);
    execl(NMT_BINARY, NMT_BINARY, "train", "--config", (dir + "/config.yaml").c_str(), "--nproc-per-node", "2",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(wait_for_step(config.training.dir, 5));
  kill(launcher, SIGTERM);
  EXPECT_EQ(wait_exit(launcher, 30), 128 + SIGTERM) << read_all(dir + "/launch.log");
  const auto latest = read_pointer(config.training.dir, "latest");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(read_checkpoint_meta(*latest)["world_size"], 2);
  EXPECT_EQ(count(read_all(dir + "/launch.log"), "stopped by signal 15"), 2);
}

TEST(DataParallel, BadEnvironmentAndBackendsAreRefusedByName) {
  auto error_of = [](const std::function<void()>& run) -> std::string {
    try {
      run();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  };
  const char* names[] = {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK", "LOCAL_WORLD_SIZE"};
  for (const char* name : names) unsetenv(name);
  EXPECT_EQ(world_from_environment().size, 1);
  setenv("WORLD_SIZE", "2", 1);
  EXPECT_NE(error_of([] { world_from_environment(); }).find("RANK is not set"), std::string::npos);
  setenv("RANK", "2", 1);
  EXPECT_NE(error_of([] { world_from_environment(); }).find("RANK='2' is not an integer in [0, 1]"), std::string::npos);
  setenv("RANK", "1", 1);
  setenv("MASTER_PORT", "port", 1);
  EXPECT_NE(error_of([] { world_from_environment(); }).find("MASTER_PORT='port'"), std::string::npos);
  setenv("MASTER_PORT", "29500", 1);
  EXPECT_NE(error_of([] { world_from_environment(); }).find("MASTER_ADDR is not set"), std::string::npos);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  const World world = world_from_environment();
  EXPECT_EQ(world.rank, 1);
  EXPECT_EQ(world.local_rank, 1);
  EXPECT_EQ(world.local_size, 2);
  for (const char* name : names) unsetenv(name);

  // NCCL needs CUDA and a LibTorch built with it; this one has neither (CPU-only Debian build).
  if (!torch::cuda::is_available()) {
    DistributedConfig nccl;
    nccl.backend = "nccl";
    const std::string error = error_of([&] { ProcessGroup group(world, nccl, torch::kCPU); });
    EXPECT_NE(error.find("distributed.backend is 'nccl'"), std::string::npos) << error;
  }
  EXPECT_NE(distributed_backends().find("gloo"), std::string::npos);
  std::string info;
  ASSERT_EQ(test::run_command(std::string(NMT_BINARY) + " info", &info), 0);
  EXPECT_NE(info.find("distributed:    c10d, backends gloo"), std::string::npos) << info;
}

TEST(DataParallel, TwoLaunchersAsTwoMachinesAndTorchrunTrainTheSameModel) {
  const auto dir = test::scratch_dir("nodes");
  Config config = parallel_config(dir);
  config.training.max_steps = 20;
  config.training.valid_every = 10;
  preprocess(config, false);
  ASSERT_EQ(launch_two(config, dir), 0) << read_all(dir + "/launch.log");
  const auto expected = parameters_at(config, 20);

  // The built-in launcher once per "machine": --nnodes 2, a node rank each, one store.
  Config nodes = config;
  nodes.training.dir = dir + "/nodes/model";
  write_text_atomically(dir + "/nodes.yaml", dump_config(nodes));
  const std::string port = std::to_string(free_local_port());
  pid_t launchers[2];
  for (int node = 0; node < 2; ++node) {
    launchers[node] = fork();
    if (launchers[node] == 0) {
      freopen((dir + "/node" + std::to_string(node) + ".log").c_str(), "w", stderr);
      // One thread each, as the other runs have (each "machine" here would take both cores).
      execl(NMT_BINARY, NMT_BINARY, "--threads", "1", "train", "--config", (dir + "/nodes.yaml").c_str(), "--nproc-per-node", "1",
            "--nnodes", "2", "--node-rank", std::to_string(node).c_str(), "--master-addr", "127.0.0.1",
            "--master-port", port.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  EXPECT_EQ(wait_exit(launchers[0], 120), 0) << read_all(dir + "/node0.log");
  EXPECT_EQ(wait_exit(launchers[1], 120), 0) << read_all(dir + "/node1.log");
  expect_identical(expected, parameters_at(nodes, 20));

  // torchrun (python3-torch), whose agent hosts the store: the workers are its clients.
  if (test::run_command("command -v torchrun") != 0) GTEST_SKIP() << "torchrun is not installed (python3-torch)";
  Config torchrun = config;
  torchrun.training.dir = dir + "/torchrun/model";
  write_text_atomically(dir + "/torchrun.yaml", dump_config(torchrun));
  std::string output;
  // Debian's torchrun 1.13 on Python 3.11 needs -r 1 -t 1.
  ASSERT_EQ(test::run_command("timeout -k 5 180 torchrun --nnodes 1 --nproc_per_node 2 --master_addr 127.0.0.1 "
                              "--master_port " + std::to_string(free_local_port()) + " -r 1 -t 1 --no_python " +
                                  NMT_BINARY + " train --config " + dir + "/torchrun.yaml",
                              &output),
            0)
      << output;
  expect_identical(expected, parameters_at(torchrun, 20));
}

TEST(DataParallel, ATimeBasedScheduleGivesEveryRankTheSameLearningRate) {
  // Cosine over max_minutes reads the clock: rank 0's time is the one every rank uses, so the
  // parameter checks after each validation hold (each rank's own clock made them differ).
  const auto dir = test::scratch_dir("clock");
  Config config = parallel_config(dir);
  config.training.max_steps = 0;
  config.training.max_epochs = 0;
  config.training.max_minutes = 0.1;  // 6 s
  config.training.lr_schedule = "cosine";
  config.training.min_lr = 1e-5;
  config.training.valid_every = 30;
  preprocess(config, false);
  ASSERT_EQ(launch_two(config, dir), 0) << read_all(dir + "/launch.log");
  const std::string log = read_all(dir + "/launch.log");
  EXPECT_GE(count(log, "parameters agree after validation"), 2) << log;
  std::ifstream metrics(config.training.dir + "/metrics.jsonl");
  double first_lr = 0, last_lr = 0;
  for (std::string line; std::getline(metrics, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["type"] != "train") continue;
    if (first_lr == 0) first_lr = record["lr"];
    last_lr = record["lr"];
  }
  EXPECT_LT(last_lr, first_lr / 2) << "the schedule annealed";
}

TEST(DataParallel, ASecondProcessWithTheSameRankIsRefused) {
  const auto dir = test::scratch_dir("twice");
  const auto [config, config_path, port, rank0, rank1] = start_endless_pair(dir);
  ASSERT_TRUE(wait_for_step(config.training.dir, 2));
  // The run is under way, its store up: a late process claiming RANK 1 is turned away.
  const pid_t again = start_rank(config_path, 1, 2, port, dir + "/again.log");
  EXPECT_EQ(wait_exit(again, 30), 1);
  const std::string log = read_all(dir + "/again.log");
  EXPECT_NE(log.find("another process already joined as RANK 1"), std::string::npos) << log;
  // The others trained on undisturbed.
  kill(rank0, SIGTERM);
  EXPECT_EQ(wait_exit(rank0, 30), 128 + SIGTERM) << read_all(dir + "/rank0.log");
  EXPECT_EQ(wait_exit(rank1, 30), 128 + SIGTERM) << read_all(dir + "/rank1.log");
}
