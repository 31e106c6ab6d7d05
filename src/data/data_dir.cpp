#include "data/data_dir.hpp"

#include <stdexcept>

namespace nmt {

std::vector<std::string> vocab_sides(const std::string& task) {
  if (task == "lm") return {"text"};
  return {"src", "tgt"};
}

Vocabs load_vocabs(const std::string& dir, const std::string& task) {
  if (task == "lm") {
    const Vocab text = Vocab::load(vocab_path(dir, "text"));
    return {text, text};
  }
  return {Vocab::load(vocab_path(dir, "src")), Vocab::load(vocab_path(dir, "tgt"))};
}

ParallelCorpus load_split(const std::string& dir, const std::string& split) {
  ParallelCorpus corpus{read_sequences(split_path(dir, split, "src")), read_sequences(split_path(dir, split, "tgt"))};
  if (corpus.src.size() != corpus.tgt.size())
    throw std::runtime_error("'" + dir + "': " + split + " source and target sentence counts differ");
  return corpus;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir, const TokenizerConfig& config,
                                          const std::string& side) {
  return make_tokenizer(config, config.type == "sentencepiece" ? spm_path(dir, side) : "");
}

}  // namespace nmt
