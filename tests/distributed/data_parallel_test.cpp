// Data-parallel training with real processes, what it computes: 2 ranks x 1 thread on 127.0.0.1
// against one process, a free port per run, every process reaped, bounded waits. CTest runs these
// one at a time (RESOURCE_LOCK).
#include "data_parallel_harness.hpp"

using namespace nmt;
using namespace nmt::test;

TEST(DataParallel, TwoProcessesTrainTheModelOfOneProcessWithTheSameGlobalBatch) {
  const auto dir = test::scratch_dir("dp");
  const Config one = trained_by_one_process(dir);
  const Config two = run_beside(one, dir, "two");
  ASSERT_EQ(launch_two(two, dir), 0) << read_all(dir + "/launch.log");
  const std::string log = read_all(dir + "/launch.log");
  EXPECT_NE(log.find("2 processes, gloo, store 127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("rank 1 at 127.0.0.1 (lo, MASTER_ADDR is a loopback address)"), std::string::npos) << log;
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

  // torchrun of the same PyTorch as this LibTorch, whose agent hosts the store: the workers are its clients.
  const std::string torchrun_program = NMT_TORCHRUN;
  if (torchrun_program.empty() || torchrun_program.find("NOTFOUND") != std::string::npos)
    GTEST_SKIP() << "no torchrun of this LibTorch's version (python3-torch for Debian's)";
  Config torchrun = config;
  torchrun.training.dir = dir + "/torchrun/model";
  write_text_atomically(dir + "/torchrun.yaml", dump_config(torchrun));
  std::string output;
  // Debian's torchrun 1.13 on Python 3.11 needs -r 1 -t 1.
  ASSERT_EQ(test::run_command("timeout -k 5 180 " + torchrun_program + " --nnodes 1 --nproc_per_node 2 --master_addr 127.0.0.1 "
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

TEST(DataParallel, TwoProcessesInBf16TrainTheModelOfOneProcessInBf16) {
  // bf16 products, fp32 gradients summed across the ranks: the ranks stay identical, and the
  // model follows one process's bf16 run within bf16's precision.
  const auto dir = test::scratch_dir("dp-bf16");
  Config one = parallel_config(dir + "/one");
  one.training.precision = "bf16";
  preprocess(one, false);
  ASSERT_EQ(train(one, {}), 0);
  Config two = run_beside(one, dir, "two");
  two.training.precision = "bf16";
  ASSERT_EQ(launch_two(two, dir), 0) << read_all(dir + "/launch.log");
  const std::string log = read_all(dir + "/launch.log");
  EXPECT_EQ(count(log, "the 2 ranks' parameters agree"), 3) << log;
  EXPECT_NE(log.find("matrix products in bf16"), std::string::npos) << log;
  EXPECT_LT(largest_difference(parameters_at(one, 50), parameters_at(two, 50)), 1e-2);
  const auto losses_one = test::train_losses(one.training.dir), losses_two = test::train_losses(two.training.dir);
  ASSERT_EQ(losses_two.size(), 50u);
  for (const auto& [step, loss] : losses_one) EXPECT_NEAR(losses_two.at(step), loss, 0.02 * loss) << step;
}
