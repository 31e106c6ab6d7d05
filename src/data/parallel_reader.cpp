#include "data/parallel_reader.hpp"

#include <stdexcept>

#include "runtime/parallel.hpp"
#include "text/line_reader.hpp"

namespace nmt {

namespace {

// Reads the next line of both files; false at the common end. Throws when one ends first.
bool next_pair(LineReader& src, LineReader& tgt, std::string& src_line, std::string& tgt_line) {
  const bool has_src = src.next(src_line);
  const bool has_tgt = tgt.next(tgt_line);
  if (has_src == has_tgt) return has_src;
  LineReader& longer = has_src ? src : tgt;
  std::string rest;
  while (longer.next(rest)) {
  }
  throw std::runtime_error("line counts differ: '" + src.path() + "' has " + std::to_string(src.line_number()) +
                           " lines, '" + tgt.path() + "' has " + std::to_string(tgt.line_number()));
}

}  // namespace

void for_each_pair(const std::string& src_path, const std::string& tgt_path,
                   const std::function<void(const std::string&, const std::string&, size_t)>& visit) {
  LineReader src(src_path), tgt(tgt_path);
  std::string src_line, tgt_line;
  while (next_pair(src, tgt, src_line, tgt_line)) visit(src_line, tgt_line, src.line_number());
}

void for_each_pair_block(const std::string& src_path, const std::string& tgt_path, size_t block_size,
                         const std::function<void(const std::vector<std::string>&, const std::vector<std::string>&)>& visit) {
  LineReader src(src_path), tgt(tgt_path);
  // Lines are read straight into a block's strings, whose buffers are reused; the next block is
  // read (decompressed, split, UTF-8 checked) on its own thread while `visit` works on this one.
  struct Block {
    std::vector<std::string> src, tgt;
  };
  auto read_block = [&](Block& block) {
    block.src.resize(block_size);
    block.tgt.resize(block_size);
    size_t count = 0;
    while (count < block_size && next_pair(src, tgt, block.src[count], block.tgt[count])) ++count;
    block.src.resize(count);
    block.tgt.resize(count);
  };
  Block current, ahead;
  read_block(current);
  while (!current.src.empty()) {
    run_concurrently([&] { visit(current.src, current.tgt); }, [&] { read_block(ahead); });
    std::swap(current, ahead);
  }
}

}  // namespace nmt
