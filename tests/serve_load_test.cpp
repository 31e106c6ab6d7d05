// nmt serve under a burst of new connections: every request is answered (200, or 503 when the
// queue is full), none is reset or left unanswered.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <map>

#include "serve_process.hpp"

using namespace nmt::test;
using namespace std::chrono_literals;

namespace {

// What became of each request of a burst.
struct BurstOutcome {
  std::map<int, int> statuses;            // HTTP status -> responses
  std::map<std::string, int> failures;    // what went wrong -> connections
  int with_status(int status) const {
    const auto found = statuses.find(status);
    return found == statuses.end() ? 0 : found->second;
  }
  int answered() const {
    int total = 0;
    for (const auto& [status, count] : statuses) total += count;
    return total;
  }
  std::string describe() const {
    std::string text;
    for (const auto& [status, count] : statuses) text += std::to_string(status) + ": " + std::to_string(count) + "; ";
    for (const auto& [what, count] : failures) text += what + ": " + std::to_string(count) + "; ";
    return text;
  }
};

struct Connection {
  int fd = -1;
  size_t sent = 0;
  std::string received;
  bool done = false;
};

// The HTTP status of a whole response in `received`, or 0 while it is incomplete.
int complete_status(const std::string& received) {
  const auto end = received.find("\r\n\r\n");
  const auto length = received.find("Content-Length: ");
  if (end == std::string::npos || length == std::string::npos || length > end) return 0;
  if (received.size() < end + 4 + std::stoul(received.substr(length + 16))) return 0;
  return status_line(received);
}

// Opens `count` connections at once (non-blocking connects, all before any is answered), sends
// `request` on each as soon as it connects, and reads every answer until `limit` has passed.
BurstOutcome burst(int port, int count, const std::string& request, std::chrono::seconds limit) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  BurstOutcome outcome;
  std::vector<Connection> connections(static_cast<size_t>(count));
  const auto fail = [&](Connection& c, const std::string& what) {
    ++outcome.failures[what];
    c.done = true;
  };
  for (auto& c : connections) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 && errno != EINPROGRESS)
      fail(c, std::string("connect: ") + std::strerror(errno));
  }
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < give_up) {
    std::vector<pollfd> polled;
    std::vector<Connection*> owners;
    for (auto& c : connections) {
      if (c.done) continue;
      polled.push_back({c.fd, static_cast<short>(c.sent < request.size() ? POLLOUT : POLLIN), 0});
      owners.push_back(&c);
    }
    if (polled.empty()) break;
    if (poll(polled.data(), polled.size(), 100) <= 0) continue;
    for (size_t i = 0; i < polled.size(); ++i) {
      Connection& c = *owners[i];
      if (!polled[i].revents) continue;
      int error = 0;
      socklen_t length = sizeof(error);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) {
        fail(c, std::strerror(error));
        continue;
      }
      if (c.sent < request.size()) {
        const ssize_t n = send(c.fd, request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) fail(c, std::string("send: ") + std::strerror(errno));
        if (n > 0) c.sent += static_cast<size_t>(n);
        continue;
      }
      char buffer[4096];
      const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
      if (n < 0 && errno != EAGAIN) {
        fail(c, std::string("recv: ") + std::strerror(errno));
      } else if (n == 0) {
        fail(c, "closed without a whole response");
      } else if (n > 0) {
        c.received.append(buffer, static_cast<size_t>(n));
        if (const int status = complete_status(c.received)) {
          ++outcome.statuses[status];
          c.done = true;
        }
      }
    }
  }
  for (auto& c : connections) {
    if (!c.done) ++outcome.failures["no answer within the time limit"];
    close(c.fd);
  }
  return outcome;
}

}  // namespace

TEST(ServeLoad, EveryConnectionOfABurstIsAnsweredWith200Or503) {
  // With cpp-httplib's own listen backlog of 5, such a burst overflowed the accept queue: the
  // kernel dropped the handshakes it could not queue, and those requests went unanswered until the
  // server gave up on them and the client's next packet met a reset.
  const auto& model = toy_model();
  ServerProcess server(model_args());
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  const std::string body = nlohmann::json{{"q", model.sources[0]}}.dump();
  const std::string request = "POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  constexpr int kConnections = 400;
  for (int round = 0; round < 3; ++round) {
    const BurstOutcome outcome = burst(port, kConnections, request, 30s);
    EXPECT_TRUE(outcome.failures.empty()) << "round " << round << ": " << outcome.describe();
    EXPECT_EQ(outcome.with_status(200) + outcome.with_status(503), kConnections) << "round " << round << ": "
                                                                                 << outcome.describe();
    EXPECT_GT(outcome.with_status(200), 0) << outcome.describe();
    if (HasFailure()) break;
  }
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
}
