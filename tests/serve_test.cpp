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
#include "serve_process.hpp"

using namespace nmt;
using namespace nmt::test;
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
