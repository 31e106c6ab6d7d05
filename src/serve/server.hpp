// `nmt serve`'s HTTP side on cpp-httplib: LibreTranslate's routes, /metrics and the web page.
// HTTP threads parse and check requests and wait on the Batcher; the model thread decodes.
#pragma once
#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "config/config.hpp"
#include "serve/batcher.hpp"
#include "serve/languages.hpp"
#include "serve/metrics.hpp"

namespace httplib {
class Server;
}

namespace nmt {

class TranslationServer {
 public:
  // `api_keys` empty: no key needed.
  TranslationServer(ServeConfig config, LanguagePair languages, std::set<std::string> api_keys);
  ~TranslationServer();
  // Binds serve.host:serve.port (0: a free port) and listens with serve.backlog; returns the port,
  // or throws naming the address and the cause.
  int bind();
  // Until this is called, /health and /translate answer 503: the model is loading.
  void start_translating(Batcher::TranslateFunction translate);
  // Serves until stop(); then returns once the requests in flight are answered.
  void listen();
  // Stops accepting; callable from any thread.
  void stop();
  // After listen() returned: decodes what is still queued and ends the model thread.
  void drain();
  ServerMetrics& metrics() { return metrics_; }

 private:
  void add_routes();

  ServeConfig config_;
  LanguagePair languages_;
  std::set<std::string> api_keys_;
  std::unique_ptr<httplib::Server> http_;
  int listen_socket_ = -1;  // the bound socket, from cpp-httplib's socket-options hook
  ServerMetrics metrics_;
  std::unique_ptr<Batcher> batcher_;
  std::atomic<bool> ready_{false};
};

// Reads serve.api_keys_file: one key per line, blank lines and '#' comments ignored.
std::set<std::string> read_api_keys(const std::string& path);

}  // namespace nmt
