// File names inside a preprocessed data directory (and copied into model directories).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "data/corpus.hpp"
#include "data/vocab.hpp"
#include "text/tokenizer.hpp"

namespace nmt {

constexpr int kDataFormatVersion = 1;

inline std::string vocab_path(const std::string& dir, const std::string& side) { return dir + "/vocab." + side + ".tsv"; }
inline std::string spm_path(const std::string& dir, const std::string& side) { return dir + "/spm." + side + ".model"; }
inline std::string split_path(const std::string& dir, const std::string& split, const std::string& side) {
  return dir + "/" + split + "." + side + ".bin";
}
inline std::string reference_path(const std::string& dir, const std::string& split) {
  return dir + "/" + split + ".ref.txt";
}

// The vocabulary files of a task: src and tgt for translation, one text vocabulary for a language model.
std::vector<std::string> vocab_sides(const std::string& task);
// For a language model both members are its text vocabulary.
Vocabs load_vocabs(const std::string& dir, const std::string& task = "nmt");
// A split's encoded files, every id checked against the vocabularies.
ParallelCorpus load_split(const std::string& dir, const std::string& split, const Vocabs& vocabs);
Sequences load_text_split(const std::string& dir, const std::string& split, const Vocab& vocab);
// Copies the vocabularies (and SentencePiece models) of `config`'s task from one directory to
// another: a preprocessed data directory into a model directory, or a trained model's into the
// data directory of a fine-tuning run.
void copy_vocabulary_files(const Config& config, const std::string& from_dir, const std::string& to_dir);
// The tokenizer of one side ("src" or "tgt"), with its SentencePiece model from `dir` if used.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir, const TokenizerConfig& config, const std::string& side);

}  // namespace nmt
