#include "data/parallel_reader.hpp"

#include <stdexcept>

#include "text/line_reader.hpp"

namespace nmt {

void for_each_pair(const std::string& src_path, const std::string& tgt_path,
                   const std::function<void(const std::string&, const std::string&, size_t)>& visit) {
  LineReader src(src_path), tgt(tgt_path);
  std::string src_line, tgt_line;
  while (true) {
    const bool has_src = src.next(src_line);
    const bool has_tgt = tgt.next(tgt_line);
    if (has_src != has_tgt) {
      LineReader& longer = has_src ? src : tgt;
      std::string rest;
      while (longer.next(rest)) {
      }
      throw std::runtime_error("line counts differ: '" + src_path + "' has " + std::to_string(src.line_number()) +
                               " lines, '" + tgt_path + "' has " + std::to_string(tgt.line_number()));
    }
    if (!has_src) return;
    visit(src_line, tgt_line, src.line_number());
  }
}

void for_each_pair_block(const std::string& src_path, const std::string& tgt_path, size_t block_size,
                         const std::function<void(const std::vector<std::string>&, const std::vector<std::string>&)>& visit) {
  std::vector<std::string> src_block, tgt_block;
  for_each_pair(src_path, tgt_path, [&](const std::string& src, const std::string& tgt, size_t) {
    src_block.push_back(src);
    tgt_block.push_back(tgt);
    if (src_block.size() < block_size) return;
    visit(src_block, tgt_block);
    src_block.clear();
    tgt_block.clear();
  });
  if (!src_block.empty()) visit(src_block, tgt_block);
}

}  // namespace nmt
