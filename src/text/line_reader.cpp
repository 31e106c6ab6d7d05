#include "text/line_reader.hpp"

#include <unistd.h>

#include <stdexcept>
#include <sys/stat.h>

#include "text/utf8.hpp"

namespace nmt {

LineReader::LineReader(const std::string& path) : path_(path) {
  if (path == "-") {
    file_ = gzdopen(dup(STDIN_FILENO), "rb");
  } else {
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) throw std::runtime_error("file not found: '" + path + "'");
    if (S_ISDIR(info.st_mode)) throw std::runtime_error("'" + path + "' is a directory, expected a text file");
    file_ = gzopen(path.c_str(), "rb");
  }
  if (!file_) throw std::runtime_error("cannot open '" + path + "'");
  gzbuffer(file_, 1 << 17);
}

LineReader::~LineReader() {
  if (file_) gzclose(file_);
}

bool LineReader::next(std::string& line) {
  line.clear();
  char chunk[1 << 14];
  bool got_any = false;
  while (gzgets(file_, chunk, sizeof(chunk))) {
    got_any = true;
    line.append(chunk);
    if (!line.empty() && line.back() == '\n') break;
  }
  int error = Z_OK;
  const char* message = gzerror(file_, &error);
  if (error != Z_OK && error != Z_STREAM_END)
    throw std::runtime_error(path_ + ":" + std::to_string(line_number_ + 1) + ": read error: " + message);
  if (!got_any) return false;
  ++line_number_;
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const size_t bad = find_invalid_utf8(line);
  if (bad != std::string::npos)
    throw std::runtime_error(path_ + ":" + std::to_string(line_number_) + ": invalid UTF-8 at byte " +
                             std::to_string(bad + 1));
  return true;
}

}  // namespace nmt
