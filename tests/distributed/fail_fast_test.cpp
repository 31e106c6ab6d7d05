// Data-parallel training with real processes, when something goes wrong: signals, killed and
// stopped ranks, start-up problems, the launcher. 127.0.0.1 only, a free port per run, every
// process reaped by its PID, bounded waits; CTest runs these one at a time (RESOURCE_LOCK).
#include "data_parallel_harness.hpp"

using namespace nmt;
using namespace nmt::test;

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

// Waits until `log` shows that its rank has joined the rendezvous.
static bool wait_for_join(const std::string& log, double seconds = 60) {
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    if (read_all(log).find("joined at 127.0.0.1") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Ranks 0 and 1 of a world of 3, both joined and waiting for rank 2 in the rendezvous.
struct TwoOfThree {
  std::string config_path;
  int port = 0;
  pid_t rank0 = -1, rank1 = -1;
};

static TwoOfThree start_two_of_three(const std::string& dir) {
  Config config = parallel_config(dir);
  config.distributed.rendezvous_timeout_seconds = 120;  // far longer than the tests' waits
  preprocess(config, false);
  TwoOfThree ranks{dir + "/config.yaml", free_local_port()};
  write_text_atomically(ranks.config_path, dump_config(config));
  ranks.rank0 = start_rank(ranks.config_path, 0, 3, ranks.port, dir + "/rank0.log");
  ranks.rank1 = start_rank(ranks.config_path, 1, 3, ranks.port, dir + "/rank1.log");
  EXPECT_TRUE(wait_for_join(dir + "/rank1.log")) << read_all(dir + "/rank1.log");
  return ranks;
}

TEST(DataParallel, ARankThatDiesDuringTheRendezvousEndsTheOthersWithinTenSeconds) {
  const auto dir = test::scratch_dir("rendezvous");
  const auto [config_path, port, rank0, rank1] = start_two_of_three(dir);
  kill(rank1, SIGKILL);
  EXPECT_EQ(wait_exit(rank1, 10), 128 + SIGKILL);
  double took = 0;
  EXPECT_EQ(wait_exit(rank0, 10, &took), kPeerFailureExit);
  const std::string log = read_all(dir + "/rank0.log");
  EXPECT_LT(took, 10.0) << log;
  EXPECT_NE(log.find("rank 1 (pid " + std::to_string(rank1)), std::string::npos) << log;
  EXPECT_NE(log.find("fell silent during the rendezvous"), std::string::npos) << log;
  EXPECT_NE(log.find("has exited"), std::string::npos) << log;
}

TEST(DataParallel, ARankThatFailsDuringSetUpEndsTheOthersAtOnceWithItsMessage) {
  const auto dir = test::scratch_dir("abort");
  const auto [config_path, port, rank0, rank1] = start_two_of_three(dir);
  // A second RANK 1 instead of rank 2: it is refused, and tells the others why.
  const pid_t twice = start_rank(config_path, 1, 3, port, dir + "/twice.log");
  EXPECT_EQ(wait_exit(twice, 30), 1) << read_all(dir + "/twice.log");
  for (const auto& [pid, name] : {std::pair{rank0, "rank0"}, std::pair{rank1, "rank1"}}) {
    double took = 0;
    EXPECT_EQ(wait_exit(pid, 10, &took), kPeerFailureExit) << name;
    const std::string log = read_all(dir + "/" + name + ".log");
    EXPECT_NE(log.find("rank 1 failed during the rendezvous: rendezvous at 127.0.0.1:" + std::to_string(port) +
                       " failed: another process already joined as RANK 1"),
              std::string::npos)
        << log;
  }
}
