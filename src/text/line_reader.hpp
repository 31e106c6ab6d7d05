// Streams lines from a plain or gzip-compressed text file, checking UTF-8.
#pragma once
#include <zlib.h>

#include <string>

namespace nmt {

class LineReader {
 public:
  // Opens `path`; "-" reads standard input. Throws naming the path when it cannot be opened.
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Reads the next line without its newline (and without a trailing '\r').
  // Throws "path:line: invalid UTF-8" for malformed text.
  bool next(std::string& line);
  size_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
  size_t line_number_ = 0;
  std::string buffer_;
};

}  // namespace nmt
