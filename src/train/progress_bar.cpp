#include "train/progress_bar.hpp"

#include <unistd.h>

#include <cstdio>

namespace nmt {

ProgressBar::ProgressBar() : enabled_(isatty(STDERR_FILENO) != 0) {}

void ProgressBar::update(int64_t done, int64_t total, const std::string& status) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  std::string bar;
  if (total > 0) {
    const int filled = static_cast<int>(kWidth * std::min<int64_t>(done, total) / total);
    bar = "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.') + "] ";
  }
  std::fprintf(stderr, "\r%s%s\033[K", bar.c_str(), status.c_str());
  std::fflush(stderr);
  visible_ = true;
}

void ProgressBar::clear() {
  if (!visible_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  visible_ = false;
}

}  // namespace nmt
