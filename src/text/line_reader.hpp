// Streams lines from a plain or gzip-compressed text file (or stdin), checking UTF-8.
// It reads with plain read() calls and inflates gzip itself, so on a pipe or terminal each line
// is available as soon as it arrives (zlib's gzread would wait for a full buffer).
#pragma once
#include <zlib.h>

#include <string>
#include <vector>

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
  // True when next() need not wait for input: a whole line is buffered, the input is a regular
  // file or has ended, or a pipe has bytes ready. Lets callers batch only what has arrived.
  bool ready();
  size_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  bool fill();  // replaces the text buffer with the next decoded bytes; false at end of input
  size_t read_raw(char* into, size_t size);  // one read() call; 0 at end of input
  size_t inflate_into(char* into, size_t size);
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool regular_file_ = false;
  bool gzip_ = false;
  bool input_ended_ = false;
  bool at_member_end_ = false;  // a gzip file may hold several members back to back
  z_stream stream_{};
  std::vector<char> raw_;   // compressed input (gzip only)
  std::vector<char> text_;  // decoded bytes; [pos_, end_) not yet returned
  size_t pos_ = 0, end_ = 0;
  size_t line_number_ = 0;
};

}  // namespace nmt
