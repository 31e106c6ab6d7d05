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

}  // namespace nmt
