#include "text/line_reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "text/utf8.hpp"

namespace nmt {

namespace {
constexpr size_t kTextBuffer = 1 << 18;
constexpr size_t kRawBuffer = 1 << 17;
}  // namespace

LineReader::LineReader(const std::string& path) : path_(path), text_(kTextBuffer) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
  } else {
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) throw std::runtime_error("file not found: '" + path + "'");
    if (S_ISDIR(info.st_mode)) throw std::runtime_error("'" + path + "' is a directory, expected a text file");
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
    owns_fd_ = true;
  }
  struct stat info;
  regular_file_ = ::fstat(fd_, &info) == 0 && S_ISREG(info.st_mode);

  // The first two bytes tell gzip (magic 1f 8b) from plain text.
  raw_.resize(kRawBuffer);
  size_t have = 0;
  for (size_t got = 1; have < 2 && got > 0; have += got) got = read_raw(raw_.data() + have, raw_.size() - have);
  gzip_ = have >= 2 && static_cast<unsigned char>(raw_[0]) == 0x1f && static_cast<unsigned char>(raw_[1]) == 0x8b;
  if (gzip_) {
    if (inflateInit2(&stream_, 15 + 16) != Z_OK) throw std::runtime_error("cannot start gzip decoding of '" + path + "'");
    stream_.next_in = reinterpret_cast<Bytef*>(raw_.data());
    stream_.avail_in = static_cast<uInt>(have);
  } else {
    std::memcpy(text_.data(), raw_.data(), have);
    end_ = have;
    input_ended_ = have == 0;
    raw_ = {};
  }
}

LineReader::~LineReader() {
  if (gzip_) inflateEnd(&stream_);
  if (owns_fd_) ::close(fd_);
}

void LineReader::fail(const std::string& what) const {
  throw std::runtime_error(path_ + ":" + std::to_string(line_number_ + 1) + ": " + what);
}

size_t LineReader::read_raw(char* into, size_t size) {
  for (;;) {
    const ssize_t got = ::read(fd_, into, size);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) fail(std::string("read error: ") + std::strerror(errno));
  }
}

size_t LineReader::inflate_into(char* into, size_t size) {
  stream_.next_out = reinterpret_cast<Bytef*>(into);
  stream_.avail_out = static_cast<uInt>(size);
  while (stream_.avail_out == size) {
    if (stream_.avail_in == 0) {
      const size_t got = read_raw(raw_.data(), raw_.size());
      if (got == 0) {
        input_ended_ = true;
        if (!at_member_end_) fail("unexpected end of gzip data (truncated file?)");
        return 0;
      }
      stream_.next_in = reinterpret_cast<Bytef*>(raw_.data());
      stream_.avail_in = static_cast<uInt>(got);
    }
    const int status = inflate(&stream_, Z_NO_FLUSH);
    if (status == Z_STREAM_END) {
      at_member_end_ = true;
      inflateReset(&stream_);  // keeps the unread input: another member may follow
    } else if (status == Z_OK || status == Z_BUF_ERROR) {
      at_member_end_ = false;
    } else {
      fail(std::string("corrupt gzip data: ") + (stream_.msg ? stream_.msg : "inflate failed"));
    }
  }
  return size - stream_.avail_out;
}

bool LineReader::fill() {
  pos_ = end_ = 0;
  if (input_ended_) return false;
  end_ = gzip_ ? inflate_into(text_.data(), text_.size()) : read_raw(text_.data(), text_.size());
  if (end_ == 0) input_ended_ = true;
  return end_ > 0;
}

bool LineReader::next(std::string& line) {
  line.clear();
  bool got_any = false;
  for (;;) {
    if (pos_ < end_) {
      const char* start = text_.data() + pos_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
      const size_t length = newline ? static_cast<size_t>(newline - start) : end_ - pos_;
      line.append(start, length);
      pos_ += length + (newline ? 1 : 0);
      got_any = true;
      if (newline) break;
    }
    if (!fill()) break;
  }
  if (!got_any) return false;
  ++line_number_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const size_t bad = find_invalid_utf8(line);
  if (bad != std::string::npos)
    throw std::runtime_error(path_ + ":" + std::to_string(line_number_) + ": invalid UTF-8 at byte " +
                             std::to_string(bad + 1));
  return true;
}

bool LineReader::ready() {
  if (pos_ < end_ && std::memchr(text_.data() + pos_, '\n', end_ - pos_)) return true;
  if (regular_file_ || input_ended_ || (gzip_ && stream_.avail_in > 0)) return true;
  pollfd poll_fd{fd_, POLLIN, 0};
  return ::poll(&poll_fd, 1, 0) > 0;
}

}  // namespace nmt
