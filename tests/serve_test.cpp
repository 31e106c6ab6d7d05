// nmt serve end to end: a real server process on a free loopback port with the toy model, and
// the HTTP side in-process with a fake model. Every child is killed by its PID.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <regex>
#include <thread>

#include "serve/server.hpp"
#include "text/line_reader.hpp"
#include "test_util.hpp"
#include "tiny_training.hpp"

using namespace nmt;
using namespace std::chrono_literals;

namespace {

// AddressSanitizer's quarantine keeps freed memory resident: the RSS bound is wider there.
#if defined(__SANITIZE_ADDRESS__)
#define NMT_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NMT_TEST_UNDER_ASAN 1
#endif
#endif
#ifdef NMT_TEST_UNDER_ASAN
constexpr long kRssGrowthLimitKb = 1024 * 1024;
#else
constexpr long kRssGrowthLimitKb = 200 * 1024;
#endif

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
std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout = 3s) {
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

int status_line(const std::string& response) {
  return response.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(response.substr(9, 3)) : 0;
}

std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

nlohmann::json post(httplib::Client& client, const nlohmann::json& body, int* status = nullptr) {
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

std::vector<std::string> read_lines(const std::string& path, size_t count) {
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

const ToyModel& toy_model() {
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
std::string best_of_nbest(const std::string& nbest, size_t index) {
  std::istringstream lines(nbest);
  const std::string prefix = std::to_string(index) + " ||| ";
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size(), line.rfind(" ||| ") - prefix.size());
  return "";
}

std::vector<std::string> model_args(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"--model", toy_model().config.training.dir, "--port", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

TEST(Serve, AnswersLibreTranslateRequestsAsNmtTranslateTranslates) {
  const auto& model = toy_model();
  ServerProcess server(model_args());
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  for (size_t i = 0; i < 6; ++i)
    EXPECT_EQ(post(client, {{"q", model.sources[i]}, {"source", "svo"}, {"target", "sov"}})["translatedText"],
              model.greedy[i]) << i;
  // An array; and a text of several lines, with an empty one, keeps its lines.
  EXPECT_EQ(post(client, {{"q", model.sources}, {"source", "auto"}, {"target", "sov"}})["translatedText"],
            nlohmann::json(model.greedy));
  EXPECT_EQ(post(client, {{"q", model.sources[0] + "\n\n" + model.sources[1]}})["translatedText"],
            model.greedy[0] + "\n\n" + model.greedy[1]);
  // Alternatives come from beam search: the best is the 3-best list's first.
  const auto with_alternatives = post(client, {{"q", model.sources[2]}, {"alternatives", 2}});
  EXPECT_EQ(with_alternatives["alternatives"].size(), 2u);
  EXPECT_EQ(with_alternatives["translatedText"], best_of_nbest(model.nbest[0], 2)) << model.nbest[0];
  // Form fields.
  const auto form = client.Post("/translate", "q=" + httplib::detail::encode_query_param(model.sources[3]) + "&source=svo&target=sov",
                                "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(nlohmann::json::parse(form->body)["translatedText"], model.greedy[3]);

  const auto languages = nlohmann::json::parse(client.Get("/languages")->body);
  EXPECT_EQ(languages[0]["code"], "svo");
  EXPECT_EQ(languages[0]["targets"], nlohmann::json::array({"sov"}));
  EXPECT_NE(client.Get("/")->body.find("<textarea"), std::string::npos);
  const std::string metrics = client.Get("/metrics")->body;
  for (const char* series : {"nmt_requests_total{status=\"200\"}", "nmt_request_seconds_bucket", "nmt_batch_sentences_bucket",
                             "nmt_queue_depth", "nmt_sentences_total", "nmt_tokens_total"})
    EXPECT_NE(metrics.find(series), std::string::npos) << series;

  // Concurrent clients each get their own answers.
  std::vector<std::thread> clients;
  std::atomic<int> wrong{0};
  for (size_t c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      httplib::Client own("127.0.0.1", port);
      own.set_read_timeout(30, 0);
      for (size_t r = 0; r < 6; ++r) {
        const size_t i = (c * 3 + r) % model.sources.size();
        const auto res = own.Post("/translate", nlohmann::json{{"q", model.sources[i]}}.dump(), "application/json");
        if (!res || nlohmann::json::parse(res->body)["translatedText"] != model.greedy[i]) ++wrong;
      }
    });
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
}

TEST(Serve, AnEnsembleOfAModelWithItselfAnswersAsTheModelAlone) {
  const auto& model = toy_model();
  ServerProcess server({"--model", model.config.training.dir, "--model", model.config.training.dir, "--port", "0"});
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  EXPECT_EQ(post(client, {{"q", model.sources}})["translatedText"], nlohmann::json(model.greedy));
  EXPECT_NE(server.output().find("ready: 2 models"), std::string::npos) << server.output();
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
}

TEST(Serve, EveryErrorIsJsonWithItsStatus) {
  const auto dir = test::scratch_dir("serve-errors");
  test::write_file(dir + "/keys", "# keys\nsecret\n");
  ServerProcess server(model_args({"--set", "serve.char_limit=200", "--set", "serve.sentence_limit=3", "--set",
                                   "serve.api_keys_file=" + dir + "/keys"}));
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  httplib::Client client("127.0.0.1", port);
  const auto expect_status = [&](const nlohmann::json& body, int expected) {
    int status = 0;
    const auto answer = post(client, body, &status);
    EXPECT_EQ(status, expected) << body.dump();
    EXPECT_TRUE(answer.contains("error")) << answer.dump();
  };
  expect_status({{"q", "x"}}, 403);
  expect_status({{"q", "x"}, {"api_key", "wrong"}}, 403);
  int status = 0;
  post(client, {{"q", "x"}, {"api_key", "secret"}}, &status);
  EXPECT_EQ(status, 200);
  expect_status({{"q", 1}, {"api_key", "secret"}}, 400);
  expect_status({{"q", "x"}, {"source", "de"}, {"api_key", "secret"}}, 400);
  expect_status({{"q", "x"}, {"format", "html"}, {"api_key", "secret"}}, 400);
  expect_status({{"q", std::string(201, 'a')}, {"api_key", "secret"}}, 413);
  expect_status({{"q", "a\nb\nc\nd"}, {"api_key", "secret"}}, 413);

  const std::string head = "POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  const auto raw = [&](const std::string& request, int expected) {
    const std::string answer = raw_exchange(port, request);
    EXPECT_EQ(status_line(answer), expected) << request.substr(0, 200) << "\n->\n" << answer;
    const auto body = nlohmann::json::parse(body_of(answer), nullptr, false);
    EXPECT_TRUE(!body.is_discarded() && body.contains("error")) << answer;
  };
  const auto with_body = [&](const std::string& body) {
    return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  raw(with_body("{\"q\": \"x"), 400);                                                     // malformed JSON
  raw(with_body("{\"q\": \"\xff\xfe\"}"), 400);                                           // invalid UTF-8
  raw(head + "Transfer-Encoding: chunked\r\n\r\n9\r\n{\"q\":\"x\"}\r\n0\r\n\r\n", 411);   // chunked
  raw(head + "Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd", 415);             // compressed
  raw(head + "\r\n", 411);                                                                // no length
  raw(head + "Content-Length: 1000000000\r\n\r\n{", 413);                                 // refused before reading
  raw(head + "Content-Length: 99999999999999999999999\r\n\r\n{", 400);
  raw("GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 404);
  // An answer never carries exception text in its headers.
  EXPECT_EQ(raw_exchange(port, with_body("{\"q\": \"x")).find("EXCEPTION"), std::string::npos);
  EXPECT_EQ(server.stop(SIGINT, 10s), 0) << server.output();
}

TEST(Serve, KeepAliveResponsesAreNotHeldBackByNagle) {
  // Without TCP_NODELAY the body segment of each keep-alive response waits for the client's
  // delayed ACK of the header segment: about 40 ms a request.
  ServerProcess server(model_args());
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  std::vector<double> milliseconds;
  for (int i = 0; i < 30; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto res = client.Get("/languages");
    ASSERT_TRUE(res);
    milliseconds.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(milliseconds.begin(), milliseconds.end());
  EXPECT_LT(milliseconds[milliseconds.size() / 2], 20.0) << "median of 30 keep-alive requests";
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
}

TEST(Serve, AFullQueueIs503AndAPassedDeadlineIs504) {
  // Each request waits 1.5 s for company: the first outlives its 0.5 s deadline, the second
  // finds the one-request queue full.
  ServerProcess server(model_args({"--set", "serve.max_wait_ms=1500", "--set", "serve.max_batch=1000", "--set",
                                   "serve.queue_limit=1", "--set", "serve.timeout_seconds=0.5"}));
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  int first_status = 0;
  std::thread first([&] {
    httplib::Client client("127.0.0.1", port);
    post(client, {{"q", "x"}}, &first_status);
  });
  std::this_thread::sleep_for(200ms);
  httplib::Client client("127.0.0.1", port);
  const auto full = client.Post("/translate", R"({"q": "y"})", "application/json");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 503);
  EXPECT_EQ(full->get_header_value("Retry-After"), "1");
  first.join();
  EXPECT_EQ(first_status, 504);
  EXPECT_EQ(client.Get("/health")->status, 200);
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
}

TEST(Serve, SigtermAnswersTheRequestsInFlightAndExitsZero) {
  ServerProcess server(model_args({"--set", "serve.max_wait_ms=1000"}));
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  int status = 0;
  nlohmann::json answer;
  std::thread in_flight([&] {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(20, 0);
    answer = post(client, {{"q", toy_model().sources[0]}}, &status);
  });
  std::this_thread::sleep_for(300ms);  // the request waits in the batcher
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  in_flight.join();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(answer["translatedText"], toy_model().greedy[0]);
}

TEST(Serve, APortInUseIsAClearError) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  ServerProcess server({"--model", toy_model().config.training.dir, "--port", std::to_string(port)});
  EXPECT_EQ(server.wait_for_exit(20s), 1);
  EXPECT_NE(server.output().find("cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use"),
            std::string::npos) << server.output();
  close(fd);
}

TEST(Serve, HostileInputLeavesItServingWithBoundedMemory) {
  ServerProcess server(model_args());
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  const auto rss_kb = [&] {
    std::ifstream status("/proc/" + std::to_string(server.pid()) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  const long rss_before = rss_kb();
  std::mt19937 random(7);
  httplib::Client client("127.0.0.1", port);
  int not_json = 0;
  // Random and truncated bodies, sent correctly: every answer is JSON.
  for (int i = 0; i < 2500; ++i) {
    std::string body = R"({"q": ["x", "y"], "source": "svo", "alternatives": 1})";
    if (i % 3 == 0) {
      body.resize(random() % body.size());
    } else {
      for (auto& c : body)
        if (random() % 8 == 0) c = static_cast<char>(random() % 256);
    }
    const auto res = client.Post("/translate", body, "application/json");
    if (!res || nlohmann::json::parse(res->body, nullptr, false).is_discarded()) ++not_json;
  }
  EXPECT_EQ(not_json, 0);
  // Torn requests and garbage over raw connections, and a 1 MB header line.
  for (int i = 0; i < 100; ++i) {
    std::string bytes = "POST /translate HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"q\": \"abc";
    bytes.resize(random() % bytes.size());
    if (i % 2) bytes = std::string(random() % 300, static_cast<char>(random() % 256));
    raw_exchange(port, bytes, 100ms);
  }
  raw_exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n", 3s);
  // Slow clients hold connections, fewer than the HTTP threads: /health still answers at once.
  std::vector<std::thread> slow;
  for (int i = 0; i < 6; ++i)
    slow.emplace_back([port] { raw_exchange(port, "POST /translate HTTP/1.1\r\nHost: x\r\nConte", 1500ms); });
  std::this_thread::sleep_for(200ms);
  const auto start = std::chrono::steady_clock::now();
  const auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  for (auto& thread : slow) thread.join();
  EXPECT_EQ(post(client, {{"q", toy_model().sources[0]}})["translatedText"], toy_model().greedy[0]);
  EXPECT_LT(rss_kb() - rss_before, kRssGrowthLimitKb) << "RSS grew from " << rss_before << " kB";
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
}

TEST(ServeInProcess, LoadingIs503AndAModelErrorIsA500WithoutItsText) {
  ServeConfig config;
  config.port = 0;
  config.max_wait_ms = 0;
  TranslationServer server(config, {"de", "en"}, {});
  const int port = server.bind();
  std::thread http([&] { server.listen(); });
  httplib::Client client("127.0.0.1", port);
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(health->get_header_value("Retry-After"), "1");
  EXPECT_EQ(client.Post("/translate", R"({"q": "x"})", "application/json")->status, 503);
  server.start_translating([](const std::vector<std::string>&, const DecodeOptions&) -> std::vector<Translation> {
    throw std::runtime_error("secret detail");
  });
  EXPECT_EQ(client.Get("/health")->status, 200);
  const auto failed = client.Post("/translate", R"({"q": "x"})", "application/json");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  EXPECT_EQ(nlohmann::json::parse(failed->body)["error"], "internal error");
  for (const auto& [name, value] : failed->headers) EXPECT_EQ(value.find("secret"), std::string::npos) << name;
  server.stop();
  http.join();
  server.drain();
}

TEST(ServeInABrowser, ThePageTranslatesASentenceInHeadlessChromiumWithNoConsoleErrors) {
  // Debian's chromium, chromium-driver and python3-selenium (scripts/install-deps.sh): nothing is downloaded.
  for (const char* tool : {"/usr/bin/chromium", "/usr/bin/chromedriver"})
    if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " is not installed (scripts/install-deps.sh installs it)";
  const auto& model = toy_model();
  ServerProcess server(model_args());
  const int port = server.wait_until_ready();
  ASSERT_GT(port, 0) << server.output();
  const std::string screenshot = test::scratch_dir("serve-browser") + "/page.png";
  std::string output;
  const int status = test::run_command("/usr/bin/python3 " + test::source_path("tests/browser/page_test.py") +
                                           " http://127.0.0.1:" + std::to_string(port) + "/ '" + model.sources[0] +
                                           "' " + screenshot, &output);
  ASSERT_EQ(status, 0) << output;
  const auto last_line = output.substr(output.rfind('{'));
  // The page asks for alternatives, so the search is the beam of `--beam 3 --nbest 3`.
  EXPECT_EQ(nlohmann::json::parse(last_line)["translation"], best_of_nbest(model.nbest[0], 0)) << output;
  EXPECT_GT(std::filesystem::file_size(screenshot), 1000u);
  EXPECT_EQ(server.stop(SIGTERM, 10s), 0) << server.output();
}
