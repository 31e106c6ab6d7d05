// A file that grows by whole records (metrics.jsonl, train.log): every append reaches the kernel
// at once, and a failed write (a full disk) is an error naming the file and the cause.
#pragma once
#include <string>

namespace nmt {

class AppendFile {
 public:
  explicit AppendFile(const std::string& path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  void append(const std::string& bytes);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace nmt
