// Mirrors the console log into training.dir/train.log for as long as it lives. A failed write
// (a full disk) is kept and raised by check(), so the trainer stops with a message naming the
// file instead of logging on without it.
#pragma once
#include <memory>
#include <string>

namespace spdlog::sinks {
class sink;
}

namespace nmt {

class LogFileMirror {
 public:
  explicit LogFileMirror(const std::string& path);
  ~LogFileMirror();
  LogFileMirror(const LogFileMirror&) = delete;
  LogFileMirror& operator=(const LogFileMirror&) = delete;

  // Throws the first write error since the mirror started, if any.
  void check() const;

 private:
  class Sink;
  std::shared_ptr<Sink> sink_;
};

}  // namespace nmt
