// Slow clients: each holds one of nmt serve's workers, and the nginx example config in
// configs/nginx/ takes them off it. nginx runs from the test's scratch directory on loopback
// ports and is stopped by its PID.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>

#include "distributed/launcher.hpp"
#include "serve_process.hpp"

using namespace nmt::test;
using namespace std::chrono_literals;

namespace {

// Connections that send half a request head and then one byte every 300 ms: every read of the
// worker (or of nginx) that serves them succeeds, so none times out.
class TricklingClients {
 public:
  TricklingClients(int port, int count) {
    for (int i = 0; i < count; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
      if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
        const std::string head = "POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
        send(fd, head.data(), head.size(), MSG_NOSIGNAL);
        fds_.push_back(fd);
      } else {
        close(fd);
      }
    }
    trickler_ = std::thread([this] {
      while (!stop_) {
        for (const int fd : fds_) send(fd, "x", 1, MSG_NOSIGNAL);
        for (int i = 0; i < 6 && !stop_; ++i) std::this_thread::sleep_for(50ms);
      }
    });
  }
  ~TricklingClients() {
    stop_ = true;
    trickler_.join();
    for (const int fd : fds_) close(fd);
  }
  size_t connected() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread trickler_;
};

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// nginx in the foreground with the example config, its ports replaced by the test's.
class Nginx {
 public:
  Nginx(const std::string& dir, int listen_port, int nmt_port) {
    std::ifstream in(source_path("configs/nginx/nmt-serve.conf"));
    std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    example = replaced(example, "server 127.0.0.1:5000;", "server 127.0.0.1:" + std::to_string(nmt_port) + ";");
    example = replaced(example, "listen 8080;", "listen 127.0.0.1:" + std::to_string(listen_port) + ";");
    write_file(dir + "/nmt-serve.conf", example);
    write_file(dir + "/nginx.conf", "worker_processes 1;\npid " + dir + "/nginx.pid;\nerror_log " + dir +
                                        "/error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n"
                                        "  client_body_temp_path " + dir + "/body;\n  proxy_temp_path " + dir +
                                        "/proxy;\n  include " + dir + "/nmt-serve.conf;\n}\n");
    pid_ = fork();
    if (pid_ == 0) {
      execl(kNginx, kNginx, "-p", dir.c_str(), "-c", (dir + "/nginx.conf").c_str(), "-g", "daemon off;",
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Nginx() {
    kill(pid_, SIGTERM);  // the master stops its workers
    waitpid(pid_, nullptr, 0);
  }
  static constexpr const char* kNginx = "/usr/sbin/nginx";

 private:
  pid_t pid_ = -1;
};

// Seconds until a one-sentence request on a new connection is answered, and its status.
std::pair<double, int> timed_request(int port, const std::string& sentence) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(20, 0);
  const auto start = std::chrono::steady_clock::now();
  const auto res = client.Post("/translate", nlohmann::json{{"q", sentence}}.dump(), "application/json");
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), res ? res->status : 0};
}

}  // namespace

TEST(ServeProxy, TricklingClientsHoldTheWorkersAndTheNginxExampleTakesThemOff) {
  if (access(Nginx::kNginx, X_OK) != 0) GTEST_SKIP() << Nginx::kNginx << " is not installed (scripts/install-deps.sh installs it)";
  const auto& model = toy_model();
  ServerProcess server(model_args({"--set", "serve.threads=4"}));
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  {
    // As many trickling clients as workers: a normal client waits until one of them ends.
    TricklingClients slow(port, 4);
    ASSERT_EQ(slow.connected(), 4u);
    std::this_thread::sleep_for(300ms);
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(2, 0);
    EXPECT_FALSE(client.Get("/health")) << "a fifth client was served while 4 trickling clients held the 4 workers";
  }
  std::this_thread::sleep_for(1s);  // the workers see the closed connections end
  const std::string dir = scratch_dir("nginx");
  const int proxy_port = nmt::free_local_port();
  Nginx nginx(dir, proxy_port, port);
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (timed_request(proxy_port, model.sources[0]).second != 200 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(100ms);
  // Fifty trickling clients, more than nmt's workers, wait in nginx; normal requests go through.
  TricklingClients slow(proxy_port, 50);
  EXPECT_EQ(slow.connected(), 50u);
  std::this_thread::sleep_for(300ms);
  for (size_t i = 0; i < 5; ++i) {
    const auto [seconds, status] = timed_request(proxy_port, model.sources[i]);
    EXPECT_EQ(status, 200) << "through nginx";
    EXPECT_LT(seconds, 2.0) << "through nginx, with 50 trickling clients";
  }
  httplib::Client client("127.0.0.1", proxy_port);
  const auto answer = client.Post("/translate", nlohmann::json{{"q", model.sources[1]}}.dump(), "application/json");
  ASSERT_TRUE(answer);
  EXPECT_EQ(nlohmann::json::parse(answer->body)["translatedText"], model.greedy[1]);
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
}
