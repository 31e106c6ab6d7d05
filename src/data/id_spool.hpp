// Training ids spooled to disk during the single tokenization pass, so memory does not grow
// with the corpus; read back once, in order, after the vocabulary is known.
#pragma once
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace nmt {

// A scratch file of length-prefixed id sequences, written then read back once, in order.
class IdSpool {
 public:
  explicit IdSpool(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "w+b")) {
    if (!file_) throw std::runtime_error("cannot create scratch file '" + path + "'");
  }
  ~IdSpool() {
    std::fclose(file_);
    std::remove(path_.c_str());
  }
  IdSpool(const IdSpool&) = delete;
  IdSpool& operator=(const IdSpool&) = delete;
  void write(const std::vector<int32_t>& ids) {
    const auto length = static_cast<uint32_t>(ids.size());
    if (std::fwrite(&length, sizeof(length), 1, file_) != 1 ||
        std::fwrite(ids.data(), sizeof(int32_t), ids.size(), file_) != ids.size())
      throw std::runtime_error("write error on '" + path_ + "' (disk full?)");
  }
  void rewind() { std::rewind(file_); }
  void read(std::vector<int32_t>& ids) {
    uint32_t length = 0;
    bool ok = std::fread(&length, sizeof(length), 1, file_) == 1;
    ids.resize(length);
    ok = ok && std::fread(ids.data(), sizeof(int32_t), length, file_) == length;
    if (!ok) throw std::runtime_error("read error on scratch file '" + path_ + "'");
  }

 private:
  std::string path_;
  std::FILE* file_;
};

}  // namespace nmt
