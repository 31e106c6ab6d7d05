#include "data/preprocess_text.hpp"

#include <sstream>

#include "data/corpus.hpp"
#include "data/data_dir.hpp"
#include "data/encode.hpp"
#include "data/id_spool.hpp"
#include "data/side_writer.hpp"
#include "data/spm_training.hpp"
#include "data/token_interner.hpp"
#include "runtime/parallel.hpp"
#include "text/line_reader.hpp"

namespace nmt {
namespace {

// Calls visit(tokens of each line) in file order; lines are tokenized concurrently in blocks.
template <typename Visit>
int64_t for_each_tokenized_line(const std::string& path, const Tokenizer& tokenizer, const Visit& visit) {
  LineReader reader(path);
  std::vector<std::string> lines;
  std::vector<TokenizedLine> tokens;
  int64_t count = 0;
  for (bool more = true; more;) {
    lines.clear();
    for (std::string line; lines.size() < 8192 && (more = reader.next(line));) lines.push_back(std::move(line));
    tokens.resize(lines.size());
    parallel_chunks(lines.size(), [&](size_t begin, size_t end) {  // tokenizers are stateless
      for (size_t i = begin; i < end; ++i) tokenizer.tokenize_into(lines[i], tokens[i]);
    });
    for (size_t i = 0; i < lines.size(); ++i) visit(tokens[i]);
    count += static_cast<int64_t>(lines.size());
  }
  return count;
}

nlohmann::json finish_split(SideWriter& writer, int64_t lines) {
  const int64_t sentences = writer.sentences();
  return {{"lines", lines}, {"sentences", sentences}, {"text", writer.finish()}};
}

}  // namespace

nlohmann::json encode_text_splits(const Config& config, const std::string& out_dir) {
  const auto& data = config.data;
  const std::string& reused = config.training.init_from;
  if (!reused.empty())
    copy_vocabulary_files(config, reused, out_dir);
  else if (data.tokenizer.type == "sentencepiece")
    train_side_sentencepiece({data.train.text}, out_dir, "text", data.tokenizer);
  const auto tokenizer = load_tokenizer(out_dir, data.tokenizer, "text");

  // One tokenization pass: provisional ids go to a scratch file, remapped once the vocabulary is known.
  TokenInterner interner;
  IdSpool spool(out_dir + "/train.text.spool");
  std::vector<int32_t> ids;
  int64_t train_tokens = 0;
  const int64_t train_lines = for_each_tokenized_line(data.train.text, *tokenizer, [&](const TokenizedLine& tokens) {
    interner.intern(tokens, ids);
    spool.write(ids);
    train_tokens += static_cast<int64_t>(ids.size());
  });
  if (train_tokens == 0)
    throw std::runtime_error("the training text '" + data.train.text + "' has no tokens (" +
                             std::to_string(train_lines) + " lines read)");
  const Vocab vocab = reused.empty() ? Vocab::build(interner.counts(), data.vocab.min_freq, data.vocab.max_size)
                                     : load_vocabs(out_dir, "lm").tgt;
  if (reused.empty()) vocab.save(vocab_path(out_dir, "text"));

  nlohmann::json manifest = {{"vocab", {{"text", vocab.size()}}}};
  {
    const auto mapping = interner.remap_to(vocab);
    SideWriter train(split_path(out_dir, "train", "text"), SideWriter::Rule::whole);
    spool.rewind();
    for (int64_t line = 0; line < train_lines; ++line) {
      spool.read(ids);
      for (auto& id : ids) id = mapping[static_cast<size_t>(id)];
      train.add(ids);
    }
    manifest["splits"]["train"] = finish_split(train, train_lines);
  }
  for (const auto& [split, path] : {std::pair{"valid", data.valid.text}, std::pair{"test", data.test.text}}) {
    if (path.empty()) continue;
    SideWriter writer(split_path(out_dir, split, "text"), SideWriter::Rule::whole);
    const int64_t lines = for_each_tokenized_line(path, *tokenizer, [&](const TokenizedLine& tokens) {
      writer.add(lookup_ids(tokens.strings(), vocab));
    });
    manifest["splits"][split] = finish_split(writer, lines);
  }
  return manifest;
}

std::string text_manifest_summary(const nlohmann::json& manifest) {
  std::ostringstream out;
  out << "vocabulary: " << manifest["vocab"]["text"] << " " << manifest["tokenizer"].get<std::string>()
      << " tokens\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%-6s %9s %11s %7s %8s\n", "split", "lines", "tokens", "unk", "p95 len");
  out << line;
  for (const auto& [name, split] : manifest["splits"].items()) {
    std::snprintf(line, sizeof(line), "%-6s %9lld %11lld %6.2f%% %8lld\n", name.c_str(),
                  split["lines"].get<long long>(), split["text"]["tokens"].get<long long>(),
                  100 * split["text"]["unk_rate"].get<double>(),
                  split["text"]["length_percentiles"]["p95"].get<long long>());
    out << line;
  }
  return out.str();
}

}  // namespace nmt
