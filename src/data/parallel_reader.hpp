// Reads two aligned text files in lockstep.
#pragma once
#include <functional>
#include <string>

namespace nmt {

// Calls visit(src_line, tgt_line, line_number) for each pair. When the files have different
// line counts, throws an error naming both files and both counts.
void for_each_pair(const std::string& src_path, const std::string& tgt_path,
                   const std::function<void(const std::string&, const std::string&, size_t)>& visit);

}  // namespace nmt
