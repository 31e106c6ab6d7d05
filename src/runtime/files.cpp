#include "runtime/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace nmt {
namespace {

std::atomic<int64_t> writes_until_failure{0};
std::atomic<int> injected_error{0};

}  // namespace

void fail_nth_write_for_testing(int64_t n, int error_number) {
  injected_error = error_number;
  writes_until_failure = n;
}

void write_all(int fd, const std::string& bytes) {
  if (writes_until_failure > 0 && --writes_until_failure == 0)
    throw std::runtime_error(std::strerror(injected_error));
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) throw std::runtime_error(std::strerror(errno));
    done += static_cast<size_t>(written);
  }
}

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error("cannot open '" + path + "' to flush it to disk: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("cannot flush '" + path + "' to disk: " + std::strerror(error));
}

void write_file_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    write(tmp);
    fsync_path(tmp);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw std::runtime_error("cannot rename into place: " + ec.message());
    // The rename itself reaches the disk only with the directory.
    const std::string parent = std::filesystem::path(path).parent_path().string();
    fsync_path(parent.empty() ? "." : parent);
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw std::runtime_error("cannot write '" + path + "': " + e.what() + " (an existing version of it is kept)");
  }
}

void write_text_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create '" + tmp + "': " + std::strerror(errno));
    try {
      write_all(fd, bytes);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (::close(fd) != 0) throw std::runtime_error(std::strerror(errno));
  });
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

uint64_t fnv1a(const void* data, size_t size, uint64_t hash) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string fnv1a_hex(const std::string& bytes) {
  const uint64_t hash = fnv1a(bytes.data(), bytes.size());
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace nmt
