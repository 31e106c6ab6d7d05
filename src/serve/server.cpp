#include "serve/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "serve/translate_request.hpp"
#include "serve/web_page.hpp"

namespace nmt {
namespace {

constexpr const char* kJson = "application/json";

void answer_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  if (status == 503) res.set_header("Retry-After", "1");
  res.set_content(nlohmann::json{{"error", message}}.dump(), kJson);
}

// Why binding failed: cpp-httplib only says that it did.
std::string bind_error(const std::string& host, int port) {
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  if (probe < 0) return std::strerror(errno);
  const int yes = 1;
  ::setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  std::string cause = "not an IPv4 address of this machine";
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) == 1) {
    cause = ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 ? "unknown cause"
                                                                                     : std::strerror(errno);
  }
  ::close(probe);
  return cause;
}

// The kernel's cap on a listen backlog; 0 when unknown.
int64_t somaxconn() {
  std::ifstream in("/proc/sys/net/core/somaxconn");
  int64_t value = 0;
  return (in >> value) ? value : 0;
}

std::string status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 413: return "the request is too large";
    case 414: return "the URI is too long";
    default: return "HTTP status " + std::to_string(status);
  }
}

// The largest body accepted: a JSON body of char_limit characters, all escaped as \uXXXX, plus
// the other fields.
size_t max_body_bytes(const ServeConfig& config) { return static_cast<size_t>(config.char_limit) * 6 + 65536; }

int64_t best_tokens(const std::vector<Translation>& translations) {
  int64_t tokens = 0;
  for (const auto& translation : translations) tokens += static_cast<int64_t>(translation.candidates.front().tokens.size());
  return tokens;
}

}  // namespace

std::set<std::string> read_api_keys(const std::string& path) {
  std::set<std::string> keys;
  if (path.empty()) return keys;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read serve.api_keys_file '" + path + "'");
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') keys.insert(line);
  }
  if (keys.empty()) throw std::runtime_error("serve.api_keys_file '" + path + "' holds no key");
  return keys;
}

TranslationServer::TranslationServer(ServeConfig config, LanguagePair languages, std::set<std::string> api_keys)
    : config_(std::move(config)), languages_(std::move(languages)), api_keys_(std::move(api_keys)),
      http_(std::make_unique<httplib::Server>()) {
  const auto threads = static_cast<size_t>(config_.threads);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_tcp_nodelay(true);  // else every keep-alive response waits ~40 ms for Nagle
  http_->set_keep_alive_max_count(1000);
  http_->set_read_timeout(5, 0);   // bounds slow clients
  http_->set_write_timeout(5, 0);
  http_->set_payload_max_length(max_body_bytes(config_));
  // Debian's cpp-httplib is a compiled library that listens with its default backlog of 5, which
  // a burst of new connections overflows (connection resets); bind() listens again with
  // serve.backlog on the socket recorded here.
  http_->set_socket_options([this](int socket) {
    httplib::default_socket_options(socket);
    listen_socket_ = socket;
  });
  add_routes();
}

TranslationServer::~TranslationServer() {
  stop();
  drain();
}

void TranslationServer::add_routes() {
  const size_t max_body = max_body_bytes(config_);
  // Before the body is read: what cpp-httplib 0.11.4 would otherwise read without its payload
  // limit (chunked or compressed bodies), and bodies that are too large or of unknown length.
  http_->set_pre_routing_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    using Result = httplib::Server::HandlerResponse;
    if (req.method != "POST" && req.method != "PUT" && req.method != "PATCH") {
      if (req.has_header("Transfer-Encoding") || req.has_header("Content-Length")) {
        const auto length = req.get_header_value("Content-Length");
        if (req.has_header("Transfer-Encoding") || (length != "0" && !length.empty())) {
          answer_error(res, 400, req.method + " requests take no body");
          return Result::Handled;
        }
      }
      return Result::Unhandled;
    }
    if (req.has_header("Transfer-Encoding")) {
      answer_error(res, 411, "chunked request bodies are not accepted: send the body with a Content-Length");
      return Result::Handled;
    }
    if (req.has_header("Content-Encoding")) {
      answer_error(res, 415, "compressed request bodies are not accepted");
      return Result::Handled;
    }
    if (!req.has_header("Content-Length")) {
      answer_error(res, 411, "a request body needs a Content-Length");
      return Result::Handled;
    }
    const std::string length = req.get_header_value("Content-Length");
    unsigned long long bytes = 0;
    const bool digits = !length.empty() && length.size() <= 19 &&
                        length.find_first_not_of("0123456789") == std::string::npos;
    if (digits) bytes = std::stoull(length);
    if (!digits) {
      answer_error(res, 400, "Content-Length is not a number");
      return Result::Handled;
    }
    if (bytes > max_body) {
      answer_error(res, 413, "the request body (" + length + " bytes) exceeds the limit of " + std::to_string(max_body) +
                                 " bytes");
      return Result::Handled;
    }
    return Result::Unhandled;
  });
  // Never cpp-httplib's default, which puts the exception's text in a response header.
  http_->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: {}", req.method, req.path, e.what());
    } catch (...) {
      spdlog::error("{} {}: unknown exception", req.method, req.path);
    }
    answer_error(res, 500, "internal error");
  });
  http_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    answer_error(res, res.status, status_text(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->set_logger([this](const httplib::Request&, const httplib::Response& res) { metrics_.record_status(res.status); });
  if (!config_.cors_origin.empty()) {
    http_->set_default_headers({{"Access-Control-Allow-Origin", config_.cors_origin}});
    http_->Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Content-Type");
      res.status = 204;
    });
  }

  http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(web_page(), "text/html; charset=utf-8");
  });
  http_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (!ready_) {
      res.status = 503;
      res.set_header("Retry-After", "1");
    }
    res.set_content(nlohmann::json{{"status", ready_ ? "ok" : "loading"}}.dump(), kJson);
  });
  http_->Get("/languages", [this](const httplib::Request&, httplib::Response& res) {
    const nlohmann::json languages = {
        {{"code", languages_.source}, {"name", language_name(languages_.source)}, {"targets", {languages_.target}}},
        {{"code", languages_.target}, {"name", language_name(languages_.target)}, {"targets", nlohmann::json::array()}}};
    res.set_content(languages.dump(), kJson);
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.prometheus(ready_ ? batcher_->queue_depth() : 0), "text/plain; version=0.0.4");
  });
  http_->Post("/translate", [this](const httplib::Request& req, httplib::Response& res) {
    const auto arrived = ServeClock::now();
    try {
      if (!ready_) throw ApiError(503, "the model is still loading");
      const auto request = parse_translate_request(
          request_body(req.body, req.get_header_value("Content-Type"), req.params), languages_, config_);
      if (!api_keys_.empty() && !api_keys_.count(request.api_key))
        throw ApiError(403, request.api_key.empty() ? "an api_key is required" : "Invalid API key");
      DecodeOptions options;
      options.nbest = request.alternatives + 1;
      options.beam_size = request.alternatives > 0 ? request.alternatives + 1 : 0;  // 0: the model's beam
      options.attention = request.details;
      const auto deadline =
          arrived + std::chrono::duration_cast<ServeClock::duration>(std::chrono::duration<double>(config_.timeout_seconds));
      std::future<std::vector<Translation>> result;
      try {
        result = batcher_->submit(request.lines, options, deadline);
      } catch (const QueueFull& e) {
        throw ApiError(503, e.what());
      }
      if (result.wait_until(deadline) != std::future_status::ready)
        throw ApiError(504, "the translation did not finish within serve.timeout_seconds");
      std::vector<Translation> translations;
      try {
        translations = result.get();
      } catch (const DeadlineExceeded& e) {
        throw ApiError(504, e.what());
      }
      res.set_content(translate_response(request, translations).dump(), kJson);
    } catch (const ApiError& e) {
      answer_error(res, e.status, e.what());
    }
    metrics_.record_latency(std::chrono::duration<double>(ServeClock::now() - arrived).count());
  });
}

int TranslationServer::bind() {
  const int port = config_.port == 0 ? http_->bind_to_any_port(config_.host)
                                     : (http_->bind_to_port(config_.host, static_cast<int>(config_.port))
                                            ? static_cast<int>(config_.port)
                                            : -1);
  if (port < 0)
    throw std::runtime_error("cannot listen on " + config_.host + ":" + std::to_string(config_.port) + ": " +
                             bind_error(config_.host, static_cast<int>(config_.port)) +
                             " (choose another with --port, or --host)");
  if (::listen(listen_socket_, static_cast<int>(config_.backlog)) != 0)
    throw std::runtime_error("cannot set serve.backlog " + std::to_string(config_.backlog) + " on " + config_.host + ":" +
                             std::to_string(port) + ": " + std::strerror(errno));
  const int64_t kernel_cap = somaxconn();
  if (kernel_cap > 0 && kernel_cap < config_.backlog)
    spdlog::warn("serve.backlog is {}, but the kernel caps it at net.core.somaxconn = {}", config_.backlog, kernel_cap);
  return port;
}

void TranslationServer::start_translating(Batcher::TranslateFunction translate) {
  Batcher::Limits limits;
  limits.max_batch = config_.max_batch;
  limits.max_wait = std::chrono::microseconds(static_cast<int64_t>(config_.max_wait_ms * 1000));
  limits.queue_limit = config_.queue_limit;
  auto metered = [this, translate = std::move(translate)](const std::vector<std::string>& lines,
                                                          const DecodeOptions& options) {
    auto translations = translate(lines, options);
    metrics_.record_translated(static_cast<int64_t>(translations.size()), best_tokens(translations));
    return translations;
  };
  batcher_ = std::make_unique<Batcher>(std::move(metered), limits,
                                       [this](int64_t sentences) { metrics_.record_batch(sentences); });
  ready_ = true;
}

void TranslationServer::listen() { http_->listen_after_bind(); }

void TranslationServer::stop() { http_->stop(); }

void TranslationServer::drain() {
  if (batcher_) batcher_->stop();
}

}  // namespace nmt
