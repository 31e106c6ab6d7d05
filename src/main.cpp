// nmt: command-line entry point. Parsing and running happen inside one try/catch, so every
// failure becomes one readable message and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/exceptions.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "config/config_error.hpp"
#include "runtime/environment.hpp"
#include "runtime/signals.hpp"

int main(int argc, char** argv) {
  nmt::tune_process_environment(argv);
  nmt::keep_freed_memory_in_heap();
  // Logs go to stderr so that stdout carries only results (translations, scores).
  spdlog::set_default_logger(spdlog::stderr_color_mt("nmt"));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S] [%^%l%$] %v");
  CLI::App app{"nmt: neural machine translation with recurrent encoder-decoders on LibTorch", "nmt"};
  app.set_version_flag("--version", std::string("nmt ") + NMT_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  nmt::GlobalOptions globals;
  app.add_option("--threads", globals.threads, "intra-op threads (default: the fastest measured setting)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", globals.log_level, "trace | debug | info | warn | error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--set", globals.overrides, "override a config key: key.path=value (repeatable)");
  nmt::setup_preprocess(app, globals);
  nmt::setup_config(app, globals);
  nmt::setup_train(app, globals);
  nmt::setup_translate(app, globals);
  nmt::setup_evaluate(app, globals);
  nmt::setup_generate(app, globals);
  nmt::setup_serve(app, globals);
  nmt::setup_shortlist(app, globals);
  nmt::setup_average(app, globals);
  nmt::setup_report(app, globals);
  nmt::setup_info(app, globals);
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const nmt::ExitRequest& request) {
    std::fprintf(stderr, "nmt: %s\n", request.message);
    return request.code;
  } catch (const nmt::ConfigError& e) {
    std::fprintf(stderr, "nmt: config error: %s\n", e.what());
    return 2;
  } catch (const YAML::Exception& e) {
    std::fprintf(stderr, "nmt: YAML error: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "nmt: torch error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nmt: error: %s\n", e.what());
    return 1;
  }
}
