#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "bundle/model_dir.hpp"
#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "serve/server.hpp"

namespace nmt {
namespace {

struct ServeOptions {
  ModelOptions models;
  std::string host, source, target, device = "cpu";
  int port = -1;
};

// SIGINT/SIGTERM, waited for on a thread of their own: they stop the server, which then
// answers the requests in flight.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // before any thread starts, so all inherit it
  }
  void start(TranslationServer& server) {
    watcher_ = std::thread([this, &server] {
      const timespec tick{0, 200'000'000};
      while (!done_) {
        const int signal = sigtimedwait(&set_, nullptr, &tick);
        if (signal <= 0) continue;
        spdlog::info("signal {}: no new requests; answering those in flight", signal);
        server.stop();
        return;
      }
    });
  }
  ~StopSignals() {
    done_ = true;
    if (watcher_.joinable()) watcher_.join();
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

void run_serve(const ServeOptions& options, const GlobalOptions& globals) {
  StopSignals signals;  // first: threads started later (OpenMP's too) inherit the blocked signals
  start_command(globals);
  if (options.models.models.empty()) throw std::runtime_error("--model is required");
  // The first model's config: its serve section (and --set serve.*), languages and decoding.
  const std::string first_dir = model_and_checkpoint(options.models.models.front()).first;
  if (!std::filesystem::exists(model_config_path(first_dir)))
    throw std::runtime_error("'" + first_dir + "' is not an nmt model directory (no config.yaml)");
  const Config config = load_config(model_config_path(first_dir), globals.overrides);
  ServeConfig serve = config.serve;
  if (!options.host.empty()) serve.host = options.host;
  if (options.port >= 0) serve.port = options.port;
  LanguagePair languages;
  if (options.source.empty() || options.target.empty()) languages = model_languages(config.data);
  if (!options.source.empty()) languages.source = options.source;
  if (!options.target.empty()) languages.target = options.target;

  TranslationServer server(serve, languages, read_api_keys(serve.api_keys_file));
  const int port = server.bind();
  spdlog::info("serving {} to {} on http://{}:{}/ (loading the model)", languages.source, languages.target, serve.host,
               port);
  signals.start(server);
  std::thread http([&server] { server.listen(); });
  std::vector<TrainedModel> models;
  Precision precision = Precision::fp32;
  try {
    const torch::Device device(options.device);
    models = load_models(options.models, device, globals.overrides);
    const SearchOptions defaults = search_options(models.front().config.decoding);
    // Checks the ensemble once; the model thread alone uses it.
    auto translator = std::make_shared<Translator>(weighted_models(models, options.models), defaults, serve.max_batch,
                                                   false, device);
    precision = decoding_precision(models, device);
    server.start_translating([translator, defaults, precision](const std::vector<std::string>& lines,
                                                               const DecodeOptions& decode) {
      const PrecisionScope scope(precision);  // on the model thread
      SearchOptions search = defaults;
      search.beam_size = std::max(decode.beam_size, defaults.beam_size);
      search.nbest = decode.nbest;
      search.keep_attention = decode.attention;
      return translator->translate(lines, search);
    });
  } catch (...) {
    server.stop();
    http.join();
    throw;
  }
  spdlog::info("ready: {} model{}, beam {}, batches of up to {} sentences within {} ms, matrix products in {}{}",
               models.size(), models.size() > 1 ? "s" : "", models.front().config.decoding.beam_size, serve.max_batch,
               serve.max_wait_ms, precision_name(precision), models.front().shortlist ? ", shortlist on" : "");
  http.join();
  server.drain();
  spdlog::info("stopped");
}

}  // namespace

void setup_serve(CLI::App& app, GlobalOptions& globals) {
  auto options = std::make_shared<ServeOptions>();
  auto* command = app.add_subcommand(
      "serve", "an HTTP translation server: LibreTranslate's API, dynamic batching, /metrics and a web page");
  add_model_options(*command, options->models, "training directory");
  command->add_option("--host", options->host, "address to listen on (default: serve.host, 127.0.0.1)");
  command->add_option("--port", options->port, "port (default: serve.port, 5000; 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  command->add_option("--source", options->source, "source language code (default: from the model)");
  command->add_option("--target", options->target, "target language code (default: from the model)");
  command->add_option("--device", options->device, "cpu | cuda");
  command->callback([options, &globals] { run_serve(*options, globals); });
}

}  // namespace nmt
