// A real `nmt serve` child process with the trained toy model, and raw HTTP helpers, for the
// serve tests. Every child is killed by its PID.
#pragma once
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "text/line_reader.hpp"
#include "test_util.hpp"
#include "tiny_training.hpp"

namespace nmt::test {

using namespace std::chrono_literals;

// `nmt serve` in a child process; its output is collected on a thread.
class ServerProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& args) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(pipe_fds[1], 1);
      dup2(pipe_fds[1], 2);
      close(pipe_fds[0]);
      std::vector<char*> argv{const_cast<char*>(NMT_BINARY), const_cast<char*>("serve")};
      for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(NMT_BINARY, argv.data());
      _exit(127);
    }
    close(pipe_fds[1]);
    reader_ = std::thread([this, fd = pipe_fds[0]] {
      char buffer[4096];
      for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) {
        std::lock_guard<std::mutex> lock(mutex_);
        output_.append(buffer, static_cast<size_t>(n));
      }
      close(fd);
    });
  }
  ~ServerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
  }
  std::string output() {
    std::lock_guard<std::mutex> lock(mutex_);
    return output_;
  }
  // The port from the start-up line, once /health says ok; 0 if the process ended or 30 s passed.
  int wait_until_ready() {
    const std::regex url(R"(http://127\.0\.0\.1:(\d+)/)");
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < give_up && !exited()) {
      std::smatch match;
      const std::string text = output();
      if (std::regex_search(text, match, url)) {
        const int port = std::stoi(match[1]);
        httplib::Client client("127.0.0.1", port);
        const auto health = client.Get("/health");
        if (health && health->status == 200) return port;
      }
      std::this_thread::sleep_for(50ms);
    }
    return 0;
  }
  bool exited() {
    if (exited_) return true;
    if (waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
    return exited_;
  }
  // Sends `signal` and returns the exit code (128+signal if killed), or -1 after `timeout`.
  int stop(int signal, std::chrono::milliseconds timeout) {
    kill(pid_, signal);
    return wait_for_exit(timeout);
  }
  int wait_for_exit(std::chrono::milliseconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (!exited() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(20ms);
    if (!exited_) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::mutex mutex_;
  std::string output_;
  std::thread reader_;
};

// Bytes sent as they are over a fresh connection; the response (or what came back within `timeout`).
inline std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout = 3s) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return "";
  }
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  // No half-close: cpp-httplib drops a request whose client shut its sending side.
  std::string answer;
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < give_up) {
    pollfd poll_fd{fd, POLLIN, 0};
    if (poll(&poll_fd, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
    const auto end = answer.find("\r\n\r\n");
    const auto length = answer.find("Content-Length: ");
    if (end != std::string::npos && length != std::string::npos && length < end &&
        answer.size() >= end + 4 + std::stoul(answer.substr(length + 16)))
      break;  // one whole response
  }
  close(fd);
  return answer;
}

inline int status_line(const std::string& response) {
  return response.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(response.substr(9, 3)) : 0;
}

inline std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

inline nlohmann::json post(httplib::Client& client, const nlohmann::json& body, int* status = nullptr) {
  const auto res = client.Post("/translate", body.dump(), "application/json");
  if (!res) {
    ADD_FAILURE() << "no answer to " << body.dump();
    return {};
  }
  if (status) *status = res->status;
  const auto parsed = nlohmann::json::parse(res->body, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << res->body;
  return parsed;
}

inline std::vector<std::string> read_lines(const std::string& path, size_t count) {
  std::vector<std::string> lines;
  LineReader reader(path);
  for (std::string line; lines.size() < count && reader.next(line);) lines.push_back(line);
  return lines;
}

// A trained toy model (shared by the tests of one process) and its `nmt translate` output.
struct ToyModel {
  Config config;
  std::vector<std::string> sources, greedy, nbest;
};

inline const ToyModel& toy_model() {
  static const ToyModel model = [] {
    ToyModel m;
    m.config = test::trained_tiny_model(test::scratch_dir("serve-model"), 150, 150);
    m.sources = read_lines(m.config.data.valid.src, 24);
    const std::string input = m.config.training.dir + "/../sources.txt";
    std::string text;
    for (const auto& line : m.sources) text += line + "\n";
    test::write_file(input, text);
    std::string output;
    const std::string translate = std::string(NMT_BINARY) + " translate --log-level warn --model " + m.config.training.dir +
                                  " --input " + input;
    EXPECT_EQ(test::run_command(translate, &output), 0) << output;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) m.greedy.push_back(line);
    EXPECT_EQ(test::run_command(translate + " --beam 3 --nbest 3", &output), 0) << output;
    m.nbest = {output};
    return m;
  }();
  return model;
}

// The first candidate of sentence `index` in `nmt translate --nbest` output.
inline std::string best_of_nbest(const std::string& nbest, size_t index) {
  std::istringstream lines(nbest);
  const std::string prefix = std::to_string(index) + " ||| ";
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size(), line.rfind(" ||| ") - prefix.size());
  return "";
}

inline std::vector<std::string> model_args(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"--model", toy_model().config.training.dir, "--port", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace nmt::test
