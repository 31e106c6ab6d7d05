// Data-parallel training across two hosts: two network namespaces joined by a veth pair
// (10.77.0.1 and 10.77.0.2, nothing leaves them), one `nmt train --nnodes 2` launcher in each.
// The namespaces are made for each test and always deleted; without root or iproute2 the tests
// skip, saying so.
#include <sys/prctl.h>

#include <fstream>

#include "data_parallel_harness.hpp"

using namespace nmt;
using namespace nmt::test;

namespace {

constexpr int kMasterPort = 29577;  // a namespace of the test's own: no other listener there

class TwoHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the two-host tests make network namespaces, which needs root";
    const std::string prefix = "nmt" + std::to_string(getpid()) + "h";
    hosts_ = {prefix + "a", prefix + "b"};
    const std::string& a = hosts_[0];
    const std::string& b = hosts_[1];
    std::string output;
    const int code = test::run_command(
        "ip netns add " + a + " && ip netns add " + b + " && ip -n " + a + " link add vA type veth peer name vB netns " +
            b + " && ip -n " + a + " addr add 10.77.0.1/24 dev vA && ip -n " + b + " addr add 10.77.0.2/24 dev vB" +
            " && ip -n " + a + " link set lo up && ip -n " + b + " link set lo up && ip -n " + a +
            " link set vA up && ip -n " + b + " link set vB up 2>&1",
        &output);
    if (code != 0) GTEST_SKIP() << "cannot make two network namespaces joined by veth here (needs root and iproute2): " << output;
    made_ = true;
  }

  void TearDown() override {
    if (made_)
      for (const auto& host : hosts_) {
        test::run_command("ip netns del " + host + " 2>&1");
        fs::remove_all("/etc/netns/" + host);
      }
  }

  // `nmt train` on host `node` (0 hosts the store), its stderr in dir/node<node>.log.
  pid_t launch(int node, const std::string& dir, const std::string& config_path,
               const std::vector<std::string>& extra = {}) const {
    const std::string log = dir + "/node" + std::to_string(node) + ".log";
    const pid_t child = fork();
    if (child == 0) {
      freopen(log.c_str(), "w", stderr);
      // `ip netns exec` execs nmt in the namespace, with /etc/netns/<host>/ over /etc: the pid
      // stays the launcher's.
      std::vector<std::string> arguments = {"ip", "netns", "exec", hosts_[static_cast<size_t>(node)], NMT_BINARY,
                                            "--threads", "1", "train", "--config", config_path, "--nproc-per-node",
                                            "1", "--nnodes", "2", "--node-rank", std::to_string(node),
                                            "--master-addr", master_addr_, "--master-port",
                                            std::to_string(kMasterPort)};
      arguments.insert(arguments.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& argument : arguments) argv.push_back(argument.data());
      argv.push_back(nullptr);
      unsetenv("GLOO_SOCKET_IFNAME");
      execvp("ip", argv.data());
      _exit(127);
    }
    return child;
  }

  // Gives `host` an /etc/hosts of its own (as Debian writes it: the host's own name on 127.0.1.1).
  void write_hosts_file(int host, const std::string& text) {
    const std::string dir = "/etc/netns/" + hosts_[static_cast<size_t>(host)];
    fs::create_directories(dir);
    write_text_atomically(dir + "/hosts", text);
  }

  std::vector<std::string> hosts_;
  std::string master_addr_ = "10.77.0.1";
  bool made_ = false;
};

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream list("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> children;
  for (pid_t child = 0; list >> child;) children.push_back(child);
  return children;
}

}  // namespace

TEST_F(TwoHosts, TrainTheModelOfOneProcessWithNoInterfaceSet) {
  const auto dir = test::scratch_dir("hosts");
  const Config one = trained_by_one_process(dir);
  Config two = run_beside(one, dir, "two");
  write_text_atomically(dir + "/two.yaml", dump_config(two));
  const pid_t node0 = launch(0, dir, dir + "/two.yaml"), node1 = launch(1, dir, dir + "/two.yaml");
  ASSERT_EQ(wait_exit(node0, 180), 0) << read_all(dir + "/node0.log");
  ASSERT_EQ(wait_exit(node1, 60), 0) << read_all(dir + "/node1.log");
  // The same tolerance as two processes on one host.
  EXPECT_LT(largest_difference(parameters_at(one, 50), parameters_at(two, 50)), 1e-5);
  const auto losses_one = test::train_losses(one.training.dir), losses_two = test::train_losses(two.training.dir);
  ASSERT_EQ(losses_one.size(), losses_two.size());
  for (const auto& [step, loss] : losses_one) EXPECT_NEAR(losses_two.at(step), loss, 1e-4) << step;
  // Each rank took the local end of its route to MASTER_ADDR, not its host name's address.
  const std::string log = read_all(dir + "/node0.log");
  EXPECT_NE(log.find("rank 0 at 10.77.0.1 (vA, the route to MASTER_ADDR 10.77.0.1); rank 1 at 10.77.0.2 (vB, the "
                     "route to MASTER_ADDR 10.77.0.1)"),
            std::string::npos)
      << log;
}

TEST_F(TwoHosts, AnUnreachableAddressStopsEveryHostWithinTenSecondsNamingTheFix) {
  const auto dir = test::scratch_dir("unreachable");
  Config config = parallel_config(dir);
  preprocess(config, false);
  write_text_atomically(dir + "/config.yaml", dump_config(config));
  // Host b advertises its loopback address, which host a cannot reach.
  const auto start = Clock::now();
  const pid_t node0 = launch(0, dir, dir + "/config.yaml"),
              node1 = launch(1, dir, dir + "/config.yaml", {"--set", "distributed.interface=lo"});
  double took0 = 0, took1 = 0;
  EXPECT_EQ(wait_exit(node0, 60, &took0), 1) << read_all(dir + "/node0.log");
  const double first = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(wait_exit(node1, 60, &took1), 1) << read_all(dir + "/node1.log");
  const double second = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LT(std::abs(second - first), 10.0);
  EXPECT_LT(std::max(first, second), 30.0);  // start-up included: nothing waits out a time-out
  for (const char* node : {"node0", "node1"}) {
    const std::string log = read_all(dir + "/" + node + ".log");
    EXPECT_NE(log.find("rank 1 advertises 127.0.0.1 (interface lo, set by distributed.interface), which rank 0 "
                       "cannot reach (Connection refused)"),
              std::string::npos)
        << node << ":\n" << log;
    EXPECT_NE(log.find("on rank 1's host (which has lo 127.0.0.1, vB 10.77.0.2"), std::string::npos) << log;
    EXPECT_NE(log.find("set distributed.interface or GLOO_SOCKET_IFNAME to the interface of the network the hosts "
                       "share, or unset both to use the route to MASTER_ADDR"),
              std::string::npos)
        << log;
  }
  EXPECT_FALSE(fs::exists(config.training.dir + "/metrics.jsonl"));
}

TEST_F(TwoHosts, KillingOneHostsLauncherEndsTheOtherWithinTenSeconds) {
  const auto dir = test::scratch_dir("hostkill");
  const Config config = endless_run(dir);
  // Orphaned workers come to this process, which reaps them by PID.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  const pid_t node0 = launch(0, dir, dir + "/config.yaml"), node1 = launch(1, dir, dir + "/config.yaml");
  ASSERT_TRUE(wait_for_step(config.training.dir, 5)) << read_all(dir + "/node0.log");
  const auto workers = children_of(node1);
  ASSERT_EQ(workers.size(), 1u);
  kill(node1, SIGKILL);
  EXPECT_EQ(wait_exit(node1, 10), 128 + SIGKILL);
  EXPECT_EQ(wait_exit(workers[0], 10), 128 + SIGKILL) << "the launcher's worker outlived it";
  double took = 0;
  EXPECT_EQ(wait_exit(node0, 10, &took), kPeerFailureExit) << read_all(dir + "/node0.log");
  EXPECT_LT(took, 10.0);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  const std::string log = read_all(dir + "/node0.log");
  EXPECT_NE(log.find("failed at step"), std::string::npos) << log;
  EXPECT_NE(log.find("rank 1 (pid " + std::to_string(workers[0])), std::string::npos) << log;
}

TEST_F(TwoHosts, AMasterNameThatIsLoopbackOnItsOwnHostStillWorks) {
  // Debian's /etc/hosts puts a host's own name on 127.0.1.1: the master host routes to it over
  // loopback, so its ranks take their route to a rank on another host instead.
  write_hosts_file(0, "127.0.0.1 localhost\n127.0.1.1 trainer-a\n");
  write_hosts_file(1, "127.0.0.1 localhost\n10.77.0.1 trainer-a\n");
  master_addr_ = "trainer-a";
  const auto dir = test::scratch_dir("hostname");
  Config config = parallel_config(dir);
  config.training.max_steps = 10;
  config.training.valid_every = 10;
  preprocess(config, false);
  write_text_atomically(dir + "/config.yaml", dump_config(config));
  const pid_t node0 = launch(0, dir, dir + "/config.yaml"), node1 = launch(1, dir, dir + "/config.yaml");
  ASSERT_EQ(wait_exit(node0, 120), 0) << read_all(dir + "/node0.log");
  ASSERT_EQ(wait_exit(node1, 60), 0) << read_all(dir + "/node1.log");
  const std::string log = read_all(dir + "/node0.log");
  EXPECT_NE(log.find("store trainer-a:" + std::to_string(kMasterPort) + "; rank 0 at 10.77.0.1 (vA, the route to "
                     "rank 1 at 10.77.0.2 (MASTER_ADDR trainer-a is this host, seen over loopback)); rank 1 at "
                     "10.77.0.2 (vB, the route to MASTER_ADDR trainer-a)"),
            std::string::npos)
      << log;
}
