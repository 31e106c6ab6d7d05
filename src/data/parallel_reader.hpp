// Reads two aligned text files in lockstep.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace nmt {

// Calls visit(src_line, tgt_line, line_number) for each pair. When the files have different
// line counts, throws an error naming both files and both counts.
void for_each_pair(const std::string& src_path, const std::string& tgt_path,
                   const std::function<void(const std::string&, const std::string&, size_t)>& visit);

// The same in blocks of up to `block_size` pairs, for callers that process a block concurrently.
void for_each_pair_block(const std::string& src_path, const std::string& tgt_path, size_t block_size,
                         const std::function<void(const std::vector<std::string>&, const std::vector<std::string>&)>& visit);

}  // namespace nmt
