// The compact binary form of one side of an encoded split: token ids plus sentence offsets.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace nmt {

struct Sequences {
  std::vector<int32_t> tokens;
  std::vector<uint64_t> offsets{0};  // sentence i is tokens[offsets[i], offsets[i+1])

  size_t size() const { return offsets.size() - 1; }
  int64_t length(size_t i) const { return static_cast<int64_t>(offsets[i + 1] - offsets[i]); }
  const int32_t* data(size_t i) const { return tokens.data() + offsets[i]; }
  void push_back(const std::vector<int32_t>& sentence) {
    tokens.insert(tokens.end(), sentence.begin(), sentence.end());
    offsets.push_back(tokens.size());
  }
};

// Streams sentences to disk; only the offsets stay in memory.
class SequenceWriter {
 public:
  explicit SequenceWriter(const std::string& path);
  ~SequenceWriter();
  void write(const std::vector<int32_t>& sentence) { write(sentence.data(), sentence.size()); }
  void write(const int32_t* tokens, size_t length);
  void close();  // writes offsets and header; throws on any I/O error

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<uint64_t> offsets_{0};
};

Sequences read_sequences(const std::string& path);
// Throws, naming `path`, when a token id lies outside a vocabulary of `vocab_size` entries: then
// the encoded data and the vocabulary do not belong together.
void require_ids_in_vocabulary(const Sequences& sequences, int64_t vocab_size, const std::string& path);

struct ParallelCorpus {
  Sequences src, tgt;
  size_t size() const { return src.size(); }
};

}  // namespace nmt
