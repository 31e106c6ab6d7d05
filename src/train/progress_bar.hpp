// A live one-line progress bar on terminals; silent when stderr is not a terminal (logs keep
// their plain lines either way).
#pragma once
#include <cstdint>
#include <string>

namespace nmt {

class ProgressBar {
 public:
  ProgressBar();
  // Redraws the bar: done/total steps (total 0 = unknown) and a short status text.
  void update(int64_t done, int64_t total, const std::string& status);
  void clear();  // call before printing a log line

 private:
  bool enabled_;
  bool visible_ = false;
};

}  // namespace nmt
