#include "train/log_file_mirror.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "runtime/append_file.hpp"

namespace nmt {

class LogFileMirror::Sink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit Sink(const std::string& path) : file_(path) {}
  std::string error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    if (!error_.empty()) return;
    spdlog::memory_buf_t line;
    formatter_->format(message, line);
    try {
      file_.append(std::string(line.data(), line.size()));
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }
  void flush_() override {}

 private:
  AppendFile file_;
  std::string error_;
};

LogFileMirror::LogFileMirror(const std::string& path) : sink_(std::make_shared<Sink>(path)) {
  spdlog::default_logger()->sinks().push_back(sink_);
}

LogFileMirror::~LogFileMirror() {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
}

void LogFileMirror::check() const {
  if (const std::string error = sink_->error(); !error.empty()) throw std::runtime_error(error);
}

}  // namespace nmt
