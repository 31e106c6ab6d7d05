#include "data/corpus.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace nmt {
namespace {
constexpr char kMagic[8] = {'N', 'M', 'T', 'S', 'E', 'Q', '0', '1'};
struct Header {
  char magic[8];
  uint64_t sentences;
  uint64_t tokens;
};
// Far above any corpus, and small enough that the size arithmetic below cannot overflow.
constexpr uint64_t kMaxCount = uint64_t{1} << 40;
}  // namespace

SequenceWriter::SequenceWriter(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
  if (!file_) throw std::runtime_error("cannot create '" + path + "'");
  Header header{};  // placeholder, rewritten by close()
  if (std::fwrite(&header, sizeof(header), 1, file_) != 1) throw std::runtime_error("write error on '" + path + "'");
}

SequenceWriter::~SequenceWriter() {
  if (file_) std::fclose(file_);
}

void SequenceWriter::write(const int32_t* tokens, size_t length) {
  if (length > 0 && std::fwrite(tokens, sizeof(int32_t), length, file_) != length)
    throw std::runtime_error("write error on '" + path_ + "' (disk full?)");
  offsets_.push_back(offsets_.back() + length);
}

void SequenceWriter::close() {
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.sentences = offsets_.size() - 1;
  header.tokens = offsets_.back();
  const bool ok = std::fwrite(offsets_.data(), sizeof(uint64_t), offsets_.size(), file_) == offsets_.size() &&
                  std::fseek(file_, 0, SEEK_SET) == 0 && std::fwrite(&header, sizeof(header), 1, file_) == 1 &&
                  std::fflush(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) throw std::runtime_error("write error on '" + path_ + "' (disk full?)");
}

Sequences read_sequences(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error("cannot open encoded corpus '" + path + "' (run nmt preprocess first)");
  Sequences out;
  Header header{};
  bool ok = std::fread(&header, sizeof(header), 1, file) == 1 && std::memcmp(header.magic, kMagic, 8) == 0;
  // The counts must describe exactly this file before anything is allocated for them.
  struct stat info {};
  ok = ok && ::fstat(::fileno(file), &info) == 0 && header.tokens <= kMaxCount && header.sentences <= kMaxCount &&
       static_cast<uint64_t>(info.st_size) ==
           sizeof(Header) + header.tokens * sizeof(int32_t) + (header.sentences + 1) * sizeof(uint64_t);
  if (ok) {
    out.tokens.resize(header.tokens);
    out.offsets.resize(header.sentences + 1);
    ok = std::fread(out.tokens.data(), sizeof(int32_t), header.tokens, file) == header.tokens &&
         std::fread(out.offsets.data(), sizeof(uint64_t), out.offsets.size(), file) == out.offsets.size() &&
         out.offsets.front() == 0 && out.offsets.back() == header.tokens &&
         std::is_sorted(out.offsets.begin(), out.offsets.end());
  }
  std::fclose(file);
  if (!ok) throw std::runtime_error("'" + path + "' is not a valid nmt encoded corpus (truncated or corrupt)");
  return out;
}

void require_ids_in_vocabulary(const Sequences& sequences, int64_t vocab_size, const std::string& path) {
  const auto outside = std::find_if(sequences.tokens.begin(), sequences.tokens.end(),
                                    [&](int32_t id) { return id < 0 || id >= vocab_size; });
  if (outside != sequences.tokens.end())
    throw std::runtime_error("'" + path + "' holds token id " + std::to_string(*outside) + ", outside its vocabulary of " +
                             std::to_string(vocab_size) + " entries (rerun nmt preprocess for this data.dir)");
}

}  // namespace nmt
