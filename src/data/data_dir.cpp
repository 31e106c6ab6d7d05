#include "data/data_dir.hpp"

#include <stdexcept>

#include "runtime/files.hpp"

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

namespace {

Sequences load_side(const std::string& dir, const std::string& split, const std::string& side, const Vocab& vocab) {
  const std::string path = split_path(dir, split, side);
  Sequences sequences = read_sequences(path);
  require_ids_in_vocabulary(sequences, vocab.size(), path);
  return sequences;
}

}  // namespace

ParallelCorpus load_split(const std::string& dir, const std::string& split, const Vocabs& vocabs) {
  ParallelCorpus corpus{load_side(dir, split, "src", vocabs.src), load_side(dir, split, "tgt", vocabs.tgt)};
  if (corpus.src.size() != corpus.tgt.size())
    throw std::runtime_error("'" + dir + "': " + split + " source and target sentence counts differ");
  return corpus;
}

Sequences load_text_split(const std::string& dir, const std::string& split, const Vocab& vocab) {
  return load_side(dir, split, "text", vocab);
}

void copy_vocabulary_files(const Config& config, const std::string& from_dir, const std::string& to_dir) {
  // Through the atomic, checked writes: a full disk names the file and leaves no half copy.
  for (const auto& side : vocab_sides(config.task)) {
    write_text_atomically(vocab_path(to_dir, side), read_text_file(vocab_path(from_dir, side)));
    if (config.data.tokenizer.type == "sentencepiece")
      write_text_atomically(spm_path(to_dir, side), read_text_file(spm_path(from_dir, side)));
  }
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir, const TokenizerConfig& config,
                                          const std::string& side) {
  return make_tokenizer(config, config.type == "sentencepiece" ? spm_path(dir, side) : "");
}

}  // namespace nmt
