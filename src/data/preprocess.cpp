#include "data/preprocess.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "data/corpus.hpp"
#include "data/data_dir.hpp"
#include "data/encode.hpp"
#include "data/id_spool.hpp"
#include "data/side_writer.hpp"
#include "data/parallel_reader.hpp"
#include "data/preprocess_text.hpp"
#include "data/spm_training.hpp"
#include "data/token_interner.hpp"
#include "runtime/files.hpp"
#include "runtime/parallel.hpp"
#include "text/line_reader.hpp"
#include "text/tokenizer.hpp"

namespace fs = std::filesystem;

namespace nmt {
namespace {

struct Tokenizers {
  std::unique_ptr<Tokenizer> src, tgt;
};

void require_file(const std::string& path, const std::string& key) {
  if (path.empty()) throw std::runtime_error("config key '" + key + "' is required for preprocessing");
  if (!fs::exists(path)) throw std::runtime_error("file not found: '" + path + "' (from config key '" + key + "')");
}

void train_sentencepiece_models(const Config& config, const std::string& out_dir) {
  const auto& data = config.data;
  if (data.vocab.shared) {
    train_side_sentencepiece({data.train.src, data.train.tgt}, out_dir, "src", data.tokenizer);
    fs::copy_file(spm_path(out_dir, "src"), spm_path(out_dir, "tgt"));
  } else {
    train_side_sentencepiece({data.train.src}, out_dir, "src", data.tokenizer);
    train_side_sentencepiece({data.train.tgt}, out_dir, "tgt", data.tokenizer);
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool is_long(size_t src_length, size_t tgt_length, int64_t max_len) {
  return static_cast<int64_t>(src_length) > max_len || static_cast<int64_t>(tgt_length) > max_len - 2;
}

// Both sides of a split, plus the raw target lines of held-out splits (the BLEU references).
class SplitWriter {
 public:
  SplitWriter(const std::string& dir, const std::string& split, int64_t max_len)
      : src_(split_path(dir, split, "src"), SideWriter::Rule::source, max_len),
        tgt_(split_path(dir, split, "tgt"), SideWriter::Rule::target, max_len) {
    if (split != "train") references_.open(reference_path(dir, split), std::ios::binary);
    reference_file_ = reference_path(dir, split);
  }
  void add(const std::vector<int32_t>& src_ids, const std::vector<int32_t>& tgt_ids, const std::string& reference) {
    src_.add(src_ids);
    tgt_.add(tgt_ids);
    if (references_.is_open()) references_ << reference << '\n';
  }
  SideWriter& src() { return src_; }
  SideWriter& tgt() { return tgt_; }
  nlohmann::json finish(int64_t lines, int64_t dropped_empty, int64_t dropped_long) {
    if (references_.is_open() && !references_.flush())
      throw std::runtime_error("write error on '" + reference_file_ + "' (disk full?)");
    return {{"lines", lines},
            {"sentences", src_.sentences()},
            {"dropped_empty", dropped_empty},
            {"dropped_long", dropped_long},
            {"src", src_.finish()},
            {"tgt", tgt_.finish()}};
  }

 private:
  SideWriter src_, tgt_;
  std::ofstream references_;
  std::string reference_file_;
};

// Validation and test: tokenized and looked up directly; never dropped for length.
nlohmann::json encode_heldout_split(const Config& config, const std::string& split, const ParallelPaths& paths,
                                    const Tokenizers& tokenizers, const Vocabs& vocabs, const std::string& out_dir) {
  SplitWriter writer(out_dir, split, config.data.max_len);
  int64_t lines = 0, dropped_empty = 0;
  for_each_pair(paths.src, paths.tgt, [&](const std::string& src_line, const std::string& tgt_line, size_t) {
    ++lines;
    const auto src_tokens = tokenizers.src->tokenize(src_line);
    const auto tgt_tokens = tokenizers.tgt->tokenize(tgt_line);
    if (src_tokens.empty() || tgt_tokens.empty()) return void(++dropped_empty);
    writer.add(lookup_ids(src_tokens, vocabs.src), lookup_ids(tgt_tokens, vocabs.tgt), tgt_line);
  });
  return writer.finish(lines, dropped_empty, 0);
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

// Tokenizes, builds the vocabularies and encodes every split of parallel data into `out_dir`.
nlohmann::json encode_parallel_splits(const Config& config, const std::string& tmp_dir) {
  const auto& data = config.data;
  const bool has_test = !data.test.src.empty() || !data.test.tgt.empty();
  const std::string& reused = config.training.init_from;
  if (!reused.empty())
    copy_vocabulary_files(config, reused, tmp_dir);
  else if (data.tokenizer.type == "sentencepiece")
    train_sentencepiece_models(config, tmp_dir);
  const Tokenizers tokenizers{load_tokenizer(tmp_dir, data.tokenizer, "src"), load_tokenizer(tmp_dir, data.tokenizer, "tgt")};
  // One tokenization pass over train, in parallel blocks: each worker tokenizes and interns its
  // lines privately; between blocks new tokens get shared provisional ids. Provisional ids go to
  // scratch files, counts to the shared interners.
  const auto start = std::chrono::steady_clock::now();
  TokenInterner src_interner, tgt_interner_separate;
  TokenInterner& tgt_interner = data.vocab.shared ? src_interner : tgt_interner_separate;
  std::vector<WorkerInterner> src_workers(parallel_workers()), tgt_workers(parallel_workers());
  std::vector<TokenizedLine> src_tokens(parallel_workers()), tgt_tokens(parallel_workers());
  IdSpool src_spool(tmp_dir + "/train.src.spool"), tgt_spool(tmp_dir + "/train.tgt.spool");
  int64_t lines = 0, kept = 0, dropped_empty = 0, dropped_long = 0;
  std::vector<std::vector<int32_t>> src_ids, tgt_ids;
  enum class Fate : uint8_t { kept, empty, too_long };
  std::vector<Fate> fates;
  for_each_pair_block(data.train.src, data.train.tgt, 8192, [&](const auto& src_lines, const auto& tgt_lines) {
    const size_t n = src_lines.size();
    src_ids.resize(n);
    tgt_ids.resize(n);
    fates.resize(n);
    parallel_worker_chunks(n, [&](size_t worker, size_t begin, size_t end) {  // tokenizers are stateless
      auto& src = src_tokens[worker];
      auto& tgt = tgt_tokens[worker];
      for (size_t i = begin; i < end; ++i) {
        tokenizers.src->tokenize_into(src_lines[i], src);
        tokenizers.tgt->tokenize_into(tgt_lines[i], tgt);
        fates[i] = src.empty() || tgt.empty() ? Fate::empty
                   : data.drop_long && is_long(src.size(), tgt.size(), data.max_len) ? Fate::too_long
                                                                                     : Fate::kept;
        if (fates[i] != Fate::kept) continue;
        src_workers[worker].intern(src, src_ids[i]);
        tgt_workers[worker].intern(tgt, tgt_ids[i]);
      }
    });
    for (size_t w = 0; w < src_workers.size(); ++w) {
      src_workers[w].sync(src_interner);
      tgt_workers[w].sync(tgt_interner);
    }
    parallel_worker_chunks(n, [&](size_t worker, size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        if (fates[i] != Fate::kept) continue;
        src_workers[worker].translate(src_ids[i]);
        tgt_workers[worker].translate(tgt_ids[i]);
      }
    });
    for (size_t i = 0; i < n; ++i) {
      ++lines;
      if (fates[i] == Fate::empty) {
        ++dropped_empty;
      } else if (fates[i] == Fate::too_long) {
        ++dropped_long;
      } else {
        src_spool.write(src_ids[i]);
        tgt_spool.write(tgt_ids[i]);
        ++kept;
      }
    }
  });
  spdlog::debug("tokenized {} training pairs in {:.2f} s", lines, seconds_since(start));
  for (size_t w = 0; w < src_workers.size(); ++w) {
    src_workers[w].merge_counts(src_interner);
    tgt_workers[w].merge_counts(tgt_interner);
  }
  if (kept == 0)
    throw std::runtime_error("the training set is empty after filtering ('" + data.train.src + "', " +
                             std::to_string(lines) + " lines read)");
  Vocabs vocabs = reused.empty() ? Vocabs{Vocab::build(src_interner.counts(), data.vocab.min_freq, data.vocab.max_size),
                                           Vocab::build(tgt_interner.counts(), data.vocab.min_freq, data.vocab.max_size)}
                                  : load_vocabs(tmp_dir);
  if (reused.empty()) {
    vocabs.src.save(vocab_path(tmp_dir, "src"));
    vocabs.tgt.save(vocab_path(tmp_dir, "tgt"));
  }

  nlohmann::json manifest = {{"vocab", {{"src", vocabs.src.size()}, {"tgt", vocabs.tgt.size()}, {"shared", data.vocab.shared}}}};
  {
    // The two sides are independent: each is read back, remapped and written on its own thread.
    SplitWriter writer(tmp_dir, "train", data.max_len);
    auto encode_side = [kept](IdSpool& spool, const std::vector<int32_t>& mapping, SideWriter& side) {
      spool.rewind();
      std::vector<int32_t> ids;
      for (int64_t i = 0; i < kept; ++i) {
        spool.read(ids);
        for (auto& id : ids) id = mapping[static_cast<size_t>(id)];
        side.add(ids);
      }
    };
    const auto src_mapping = src_interner.remap_to(vocabs.src), tgt_mapping = tgt_interner.remap_to(vocabs.tgt);
    run_concurrently([&] { encode_side(src_spool, src_mapping, writer.src()); },
                     [&] { encode_side(tgt_spool, tgt_mapping, writer.tgt()); });
    manifest["splits"]["train"] = writer.finish(lines, dropped_empty, dropped_long);
  }
  spdlog::debug("encoded the training split after {:.2f} s", seconds_since(start));
  manifest["splits"]["valid"] = encode_heldout_split(config, "valid", data.valid, tokenizers, vocabs, tmp_dir);
  if (has_test) manifest["splits"]["test"] = encode_heldout_split(config, "test", data.test, tokenizers, vocabs, tmp_dir);
  return manifest;
}

void require_split_files(const Config& config) {
  const auto& data = config.data;
  if (config.task == "lm") {
    require_file(data.train.text, "data.train.text");
    require_file(data.valid.text, "data.valid.text");
    if (!data.test.text.empty()) require_file(data.test.text, "data.test.text");
    return;
  }
  require_file(data.train.src, "data.train.src");
  require_file(data.train.tgt, "data.train.tgt");
  require_file(data.valid.src, "data.valid.src");
  require_file(data.valid.tgt, "data.valid.tgt");
  if (!data.test.src.empty() || !data.test.tgt.empty()) {
    require_file(data.test.src, "data.test.src");
    require_file(data.test.tgt, "data.test.tgt");
  }
}

}  // namespace

std::string data_config_hash(const Config& config) {
  Config unlabelled = config;  // language codes are labels: they leave the encoded data as it is
  unlabelled.data.src_lang.clear();
  unlabelled.data.tgt_lang.clear();
  std::string data = dump_section(unlabelled, "data");
  if (config.task != "nmt") data += "task: " + config.task;
  if (!config.training.init_from.empty()) data += "vocabularies: " + config.training.init_from;
  return fnv1a_hex(data);
}

nlohmann::json preprocess(const Config& config, bool force) {
  require_split_files(config);
  const std::string hash = data_config_hash(config);
  const std::string final_dir = fs::path(config.data.dir).lexically_normal().string();
  check_existing_output(final_dir, hash, force);

  const std::string tmp_dir = final_dir + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp_dir);
  fs::create_directories(tmp_dir);
  try {
    nlohmann::json manifest = config.task == "lm" ? encode_text_splits(config, tmp_dir)
                                                  : encode_parallel_splits(config, tmp_dir);
    manifest["format_version"] = kDataFormatVersion;
    manifest["task"] = config.task;
    manifest["config_hash"] = hash;
    manifest["tokenizer"] = config.data.tokenizer.type;
    manifest["lowercase"] = config.data.tokenizer.lowercase;
    manifest["max_len"] = config.data.max_len;
    if (!config.training.init_from.empty()) {
      manifest["vocab"]["from"] = config.training.init_from;
      spdlog::info("encoded with the vocabularies{} of training.init_from '{}'; nothing was retrained",
                   config.data.tokenizer.type == "sentencepiece" ? " and SentencePiece models" : "",
                   config.training.init_from);
    }
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
  if (manifest.value("task", "nmt") == "lm") return text_manifest_summary(manifest);
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
