#include "data/spm_training.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "text/line_reader.hpp"
#include "text/tokenizer.hpp"

namespace nmt {

void train_side_sentencepiece(const std::vector<std::string>& sources, const std::string& out_dir,
                              const std::string& side, const TokenizerConfig& config) {
  const std::string scratch = out_dir + "/spm-input.txt";
  {
    std::ofstream out(scratch, std::ios::binary);
    for (const auto& source : sources) {
      LineReader reader(source);
      for (std::string line; reader.next(line);) out << (config.lowercase ? lowercase_utf8(line) : line) << '\n';
    }
    if (!out.flush()) throw std::runtime_error("write error on '" + scratch + "' (disk full?)");
  }
  const std::string prefix = out_dir + "/spm." + side;
  train_sentencepiece(scratch, prefix, config);
  std::filesystem::remove(scratch);
  std::filesystem::remove(prefix + ".vocab");
}

}  // namespace nmt
