#include "data/preprocess.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "data/corpus.hpp"
#include "data/data_dir.hpp"
#include "data/encode.hpp"
#include "data/parallel_reader.hpp"
#include "runtime/files.hpp"
#include "text/line_reader.hpp"
#include "text/tokenizer.hpp"

namespace fs = std::filesystem;

namespace nmt {
namespace {

struct SideStats {
  int64_t tokens = 0;
  int64_t unknown = 0;
  int64_t truncated = 0;
  std::map<int64_t, int64_t> length_histogram;  // bounded by distinct lengths, not corpus size

  void add(const std::vector<std::string>& tokens, const std::vector<int32_t>& ids, size_t kept_limit) {
    length_histogram[static_cast<int64_t>(tokens.size())]++;
    truncated += tokens.size() > kept_limit;
    for (int32_t id : ids) {
      tokens_counted(id);
    }
  }
  void tokens_counted(int32_t id) {
    if (id == kSos || id == kEos) return;
    ++tokens;
    unknown += id == kUnk;
  }
  nlohmann::json to_json() const {
    nlohmann::json percentiles;
    int64_t total = 0;
    for (const auto& [length, count] : length_histogram) total += count;
    for (int p : {50, 90, 95, 99, 100}) {
      const int64_t rank = std::max<int64_t>(1, (total * p + 99) / 100);
      int64_t seen = 0, value = 0;
      for (const auto& [length, count] : length_histogram) {
        seen += count;
        value = length;
        if (seen >= rank) break;
      }
      percentiles[p == 100 ? "max" : "p" + std::to_string(p)] = value;
    }
    return {{"tokens", tokens},
            {"unk", unknown},
            {"unk_rate", tokens ? static_cast<double>(unknown) / tokens : 0.0},
            {"truncated", truncated},
            {"length_percentiles", percentiles}};
  }
};

struct Tokenizers {
  std::unique_ptr<Tokenizer> src, tgt;
};

void require_file(const std::string& path, const std::string& key) {
  if (path.empty()) throw std::runtime_error("config key '" + key + "' is required for preprocessing");
  if (!fs::exists(path)) throw std::runtime_error("file not found: '" + path + "' (from config key '" + key + "')");
}

// SentencePiece learns from (optionally lowercased) training text written to a scratch file.
Tokenizers train_sentencepiece_models(const Config& config, const std::string& out_dir) {
  const auto& data = config.data;
  auto write_text = [&](const std::string& path, const std::vector<std::string>& sources) {
    std::ofstream out(path, std::ios::binary);
    for (const auto& source : sources) {
      LineReader reader(source);
      for (std::string line; reader.next(line);) out << (data.tokenizer.lowercase ? lowercase_utf8(line) : line) << '\n';
    }
    if (!out.flush()) throw std::runtime_error("write error on '" + path + "' (disk full?)");
  };
  const std::string scratch = out_dir + "/spm-input.txt";
  if (data.vocab.shared) {
    write_text(scratch, {data.train.src, data.train.tgt});
    train_sentencepiece(scratch, out_dir + "/spm.src", data.tokenizer);
    fs::copy_file(spm_path(out_dir, "src"), spm_path(out_dir, "tgt"));
  } else {
    for (const std::string side : {"src", "tgt"}) {
      write_text(scratch, {side == "src" ? data.train.src : data.train.tgt});
      train_sentencepiece(scratch, out_dir + "/spm." + side, data.tokenizer);
    }
  }
  fs::remove(scratch);
  for (const std::string side : {"src", "tgt"}) fs::remove(out_dir + "/spm." + side + ".vocab");
  return {load_tokenizer(out_dir, data.tokenizer, "src"), load_tokenizer(out_dir, data.tokenizer, "tgt")};
}

bool is_long(const std::vector<std::string>& src, const std::vector<std::string>& tgt, int64_t max_len) {
  return static_cast<int64_t>(src.size()) > max_len || static_cast<int64_t>(tgt.size()) > max_len - 2;
}

nlohmann::json encode_split(const Config& config, const std::string& split, const ParallelPaths& paths,
                            const Tokenizers& tokenizers, const Vocabs& vocabs, const std::string& out_dir) {
  const int64_t max_len = config.data.max_len;
  const bool may_drop_long = split == "train" && config.data.drop_long;
  SequenceWriter src_out(split_path(out_dir, split, "src")), tgt_out(split_path(out_dir, split, "tgt"));
  std::ofstream references;
  if (split != "train") references.open(reference_path(out_dir, split), std::ios::binary);
  SideStats src_stats, tgt_stats;
  int64_t sentences = 0, dropped_empty = 0, dropped_long = 0, lines = 0;
  for_each_pair(paths.src, paths.tgt, [&](const std::string& src_line, const std::string& tgt_line, size_t) {
    ++lines;
    const auto src_tokens = tokenizers.src->tokenize(src_line);
    const auto tgt_tokens = tokenizers.tgt->tokenize(tgt_line);
    if (src_tokens.empty() || tgt_tokens.empty()) return void(++dropped_empty);
    if (may_drop_long && is_long(src_tokens, tgt_tokens, max_len)) return void(++dropped_long);
    const auto src_ids = encode_source(src_tokens, vocabs.src, max_len);
    const auto tgt_ids = encode_target(tgt_tokens, vocabs.tgt, max_len);
    src_stats.add(src_tokens, src_ids, static_cast<size_t>(max_len));
    tgt_stats.add(tgt_tokens, tgt_ids, static_cast<size_t>(max_len - 2));
    src_out.write(src_ids);
    tgt_out.write(tgt_ids);
    if (references.is_open()) references << tgt_line << '\n';
    ++sentences;
  });
  src_out.close();
  tgt_out.close();
  if (references.is_open() && !references.flush())
    throw std::runtime_error("write error on '" + reference_path(out_dir, split) + "' (disk full?)");
  if (split == "train" && sentences == 0)
    throw std::runtime_error("the training set is empty after filtering ('" + paths.src + "', " +
                             std::to_string(lines) + " lines read)");
  return {{"lines", lines},
          {"sentences", sentences},
          {"dropped_empty", dropped_empty},
          {"dropped_long", dropped_long},
          {"src", src_stats.to_json()},
          {"tgt", tgt_stats.to_json()}};
}

void check_existing_output(const std::string& dir, const std::string& hash, bool force) {
  if (!fs::exists(dir) || force) return;
  const std::string manifest = dir + "/manifest.json";
  if (!fs::exists(manifest)) {
    if (!fs::is_empty(dir))
      throw std::runtime_error("data.dir '" + dir + "' exists and is not an nmt data directory; use --force to replace it");
    return;
  }
  const auto existing = nlohmann::json::parse(read_text_file(manifest), nullptr, false);
  if (existing.is_discarded() || existing.value("config_hash", "") != hash)
    throw std::runtime_error("data.dir '" + dir +
                             "' was made from a different data config; use --force to replace it");
}

}  // namespace

std::string data_config_hash(const Config& config) { return fnv1a_hex(dump_section(config, "data")); }

nlohmann::json preprocess(const Config& config, bool force) {
  const auto& data = config.data;
  require_file(data.train.src, "data.train.src");
  require_file(data.train.tgt, "data.train.tgt");
  require_file(data.valid.src, "data.valid.src");
  require_file(data.valid.tgt, "data.valid.tgt");
  const bool has_test = !data.test.src.empty() || !data.test.tgt.empty();
  if (has_test) {
    require_file(data.test.src, "data.test.src");
    require_file(data.test.tgt, "data.test.tgt");
  }
  const std::string hash = data_config_hash(config);
  const std::string final_dir = fs::path(data.dir).lexically_normal().string();
  check_existing_output(final_dir, hash, force);

  const std::string tmp_dir = final_dir + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp_dir);
  fs::create_directories(tmp_dir);
  try {
    Tokenizers tokenizers = data.tokenizer.type == "sentencepiece"
                                ? train_sentencepiece_models(config, tmp_dir)
                                : Tokenizers{make_tokenizer(data.tokenizer), make_tokenizer(data.tokenizer)};
    std::unordered_map<std::string, int64_t> src_counts, tgt_counts;
    for_each_pair(data.train.src, data.train.tgt, [&](const std::string& src_line, const std::string& tgt_line, size_t) {
      const auto src_tokens = tokenizers.src->tokenize(src_line);
      const auto tgt_tokens = tokenizers.tgt->tokenize(tgt_line);
      if (src_tokens.empty() || tgt_tokens.empty()) return;
      if (data.drop_long && is_long(src_tokens, tgt_tokens, data.max_len)) return;
      auto& src_target = src_counts;
      auto& tgt_target = data.vocab.shared ? src_counts : tgt_counts;
      for (const auto& token : src_tokens) ++src_target[token];
      for (const auto& token : tgt_tokens) ++tgt_target[token];
    });
    Vocabs vocabs{Vocab::build(src_counts, data.vocab.min_freq, data.vocab.max_size),
                  Vocab::build(data.vocab.shared ? src_counts : tgt_counts, data.vocab.min_freq, data.vocab.max_size)};
    vocabs.src.save(vocab_path(tmp_dir, "src"));
    vocabs.tgt.save(vocab_path(tmp_dir, "tgt"));

    nlohmann::json manifest = {{"format_version", kDataFormatVersion},
                               {"config_hash", hash},
                               {"tokenizer", data.tokenizer.type},
                               {"lowercase", data.tokenizer.lowercase},
                               {"max_len", data.max_len},
                               {"vocab", {{"src", vocabs.src.size()}, {"tgt", vocabs.tgt.size()}, {"shared", data.vocab.shared}}}};
    manifest["splits"]["train"] = encode_split(config, "train", data.train, tokenizers, vocabs, tmp_dir);
    manifest["splits"]["valid"] = encode_split(config, "valid", data.valid, tokenizers, vocabs, tmp_dir);
    if (has_test) manifest["splits"]["test"] = encode_split(config, "test", data.test, tokenizers, vocabs, tmp_dir);
    write_text_atomically(tmp_dir + "/manifest.json", manifest.dump(2) + "\n");
    write_text_atomically(tmp_dir + "/config.yaml", dump_config(config));

    // Swap directories so that a data.dir, old or new, is always complete.
    const std::string old_dir = final_dir + ".old-" + std::to_string(::getpid());
    if (fs::exists(final_dir)) fs::rename(final_dir, old_dir);
    fs::rename(tmp_dir, final_dir);
    fs::remove_all(old_dir);
    return manifest;
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp_dir, ignored);
    throw;
  }
}

std::string manifest_summary(const nlohmann::json& manifest) {
  std::ostringstream out;
  out << "vocabulary: src " << manifest["vocab"]["src"] << ", tgt " << manifest["vocab"]["tgt"]
      << (manifest["vocab"]["shared"].get<bool>() ? " (shared)" : "") << "\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%-6s %9s %9s %9s %7s %7s %9s %9s %8s\n", "split", "pairs", "src tok", "tgt tok",
                "src unk", "tgt unk", "truncated", "dropped", "p95 len");
  out << line;
  for (const auto& [name, split] : manifest["splits"].items()) {
    std::snprintf(line, sizeof(line), "%-6s %9lld %9lld %9lld %6.2f%% %6.2f%% %9lld %9lld %8lld\n", name.c_str(),
                  split["sentences"].get<long long>(), split["src"]["tokens"].get<long long>(),
                  split["tgt"]["tokens"].get<long long>(), 100 * split["src"]["unk_rate"].get<double>(),
                  100 * split["tgt"]["unk_rate"].get<double>(),
                  split["src"]["truncated"].get<long long>() + split["tgt"]["truncated"].get<long long>(),
                  split["dropped_empty"].get<long long>() + split["dropped_long"].get<long long>(),
                  split["src"]["length_percentiles"]["p95"].get<long long>());
    out << line;
  }
  return out.str();
}

}  // namespace nmt
