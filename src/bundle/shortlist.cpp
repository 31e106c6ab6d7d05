#include "bundle/shortlist.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "data/special_tokens.hpp"
#include "runtime/files.hpp"

namespace nmt {
namespace {

constexpr const char* kFormat = "nmt-shortlist";
constexpr int kVersion = 1;

// Ordinary tokens only: padding, start and unknown are never worth scoring for a source token,
// and EOS is always a candidate.
bool ordinary(int32_t id) { return id > kEos; }

// The tokens the frequent list ranks: ordinary ones and <unk>, which a model with a word
// vocabulary predicts for its rare words (without it, such a model's greedy output on Multi30k
// de→en lost 1.15 BLEU: every rare word became some other word).
bool ranked_by_frequency(int32_t id) { return ordinary(id) || id == kUnk; }

// The distinct ordinary ids of one sentence.
std::vector<int32_t> distinct_ids(const int32_t* ids, int64_t length) {
  std::vector<int32_t> distinct;
  for (int64_t i = 0; i < length; ++i)
    if (ordinary(ids[i])) distinct.push_back(ids[i]);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  return distinct;
}

std::vector<int32_t> id_list(const nlohmann::json& value, int64_t bound, const std::string& where) {
  if (!value.is_array()) throw std::runtime_error(where + " is not a list of token ids");
  std::vector<int32_t> ids;
  for (const auto& id : value) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= bound)
      throw std::runtime_error(where + " holds " + id.dump() + ", not a token id below " + std::to_string(bound));
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

}  // namespace

std::string shortlist_path(const std::string& model_dir) { return model_dir + "/shortlist.json"; }

std::string vocab_fingerprint(const Vocab& vocab) {
  std::string tokens;  // in id order, each ended by a newline
  for (int32_t id = 0; id < vocab.size(); ++id) tokens += vocab.token(id) + "\n";
  return std::to_string(vocab.size()) + ":" + fnv1a_hex(tokens);
}

Shortlist Shortlist::build(const ParallelCorpus& corpus, const Vocabs& vocabs, int64_t keep_frequent,
                           int64_t keep_per_source) {
  if (keep_frequent < 1 || keep_per_source < 1)
    throw std::invalid_argument("shortlist: keep at least one frequent token and one translation per source token");
  const auto source_size = static_cast<size_t>(vocabs.src.size()), target_size = static_cast<size_t>(vocabs.tgt.size());
  std::vector<int64_t> source_count(source_size), target_count(target_size), target_tokens(target_size);
  std::vector<std::unordered_map<int32_t, int64_t>> together(source_size);
  for (size_t i = 0; i < corpus.size(); ++i) {
    const auto source = distinct_ids(corpus.src.data(i), corpus.src.length(i));
    const auto target = distinct_ids(corpus.tgt.data(i), corpus.tgt.length(i));
    for (int64_t k = 0; k < corpus.tgt.length(i); ++k)
      if (ranked_by_frequency(corpus.tgt.data(i)[k])) ++target_tokens[static_cast<size_t>(corpus.tgt.data(i)[k])];
    for (const int32_t t : target) ++target_count[static_cast<size_t>(t)];
    for (const int32_t s : source) {
      ++source_count[static_cast<size_t>(s)];
      auto& row = together[static_cast<size_t>(s)];
      for (const int32_t t : target) ++row[t];
    }
  }
  Shortlist list;
  list.source_fingerprint_ = vocab_fingerprint(vocabs.src);
  list.target_fingerprint_ = vocab_fingerprint(vocabs.tgt);
  list.frequent_limit_ = keep_frequent;
  list.per_source_ = keep_per_source;
  std::vector<int32_t> by_frequency;
  for (size_t t = 0; t < target_size; ++t)
    if (target_tokens[t] > 0) by_frequency.push_back(static_cast<int32_t>(t));
  std::stable_sort(by_frequency.begin(), by_frequency.end(),
                   [&](int32_t a, int32_t b) { return target_tokens[static_cast<size_t>(a)] > target_tokens[static_cast<size_t>(b)]; });
  by_frequency.resize(std::min(by_frequency.size(), static_cast<size_t>(keep_frequent)));
  list.frequent_ = std::move(by_frequency);
  list.translations_.resize(source_size);
  for (size_t s = 0; s < source_size; ++s) {
    std::vector<std::pair<double, int32_t>> ranked;  // (-dice, id): ascending sorts best first, ties by id
    for (const auto& [t, count] : together[s])
      ranked.push_back({-2.0 * static_cast<double>(count) /
                            static_cast<double>(source_count[s] + target_count[static_cast<size_t>(t)]),
                        t});
    std::sort(ranked.begin(), ranked.end());
    ranked.resize(std::min(ranked.size(), static_cast<size_t>(keep_per_source)));
    for (const auto& entry : ranked) list.translations_[s].push_back(entry.second);
  }
  return list;
}

void Shortlist::save(const std::string& path) const {
  nlohmann::json out{{"format", kFormat},
                     {"version", kVersion},
                     {"source_vocab", source_fingerprint_},
                     {"target_vocab", target_fingerprint_},
                     {"frequent_limit", frequent_limit_},
                     {"per_source", per_source_},
                     {"frequent", frequent_},
                     {"translations", translations_}};
  write_text_atomically(path, out.dump() + "\n");
}

Shortlist Shortlist::load(const std::string& path, const Vocabs& vocabs) {
  const auto in = nlohmann::json::parse(read_text_file(path), nullptr, false);
  const std::string where = "shortlist '" + path + "'";
  if (in.is_discarded() || !in.is_object()) throw std::runtime_error(where + " is not valid JSON");
  if (in.value("format", "") != kFormat || in.value("version", 0) != kVersion)
    throw std::runtime_error(where + " is not an nmt shortlist of version " + std::to_string(kVersion));
  for (const char* key : {"source_vocab", "target_vocab", "frequent_limit", "per_source", "frequent", "translations"})
    if (!in.contains(key)) throw std::runtime_error(where + " lacks '" + key + "'");
  Shortlist list;
  list.source_fingerprint_ = in["source_vocab"].is_string() ? in["source_vocab"].get<std::string>() : "";
  list.target_fingerprint_ = in["target_vocab"].is_string() ? in["target_vocab"].get<std::string>() : "";
  const std::string source = vocab_fingerprint(vocabs.src), target = vocab_fingerprint(vocabs.tgt);
  if (list.source_fingerprint_ != source || list.target_fingerprint_ != target)
    throw std::runtime_error(where + " was built for other vocabularies (source " + list.source_fingerprint_ +
                             ", target " + list.target_fingerprint_ + "; this model's are " + source + " and " +
                             target + ", as size:hash); rebuild it with 'nmt shortlist --model DIR'");
  for (const char* key : {"frequent_limit", "per_source"})
    if (!in[key].is_number_integer() || in[key].get<int64_t>() < 1)
      throw std::runtime_error(where + ": '" + key + "' must be a positive integer");
  list.frequent_limit_ = in["frequent_limit"].get<int64_t>();
  list.per_source_ = in["per_source"].get<int64_t>();
  list.frequent_ = id_list(in["frequent"], vocabs.tgt.size(), where + ": 'frequent'");
  const auto& translations = in["translations"];
  if (!translations.is_array() || static_cast<int64_t>(translations.size()) != vocabs.src.size())
    throw std::runtime_error(where + ": 'translations' must hold one list per source token (" +
                             std::to_string(vocabs.src.size()) + ")");
  for (size_t s = 0; s < translations.size(); ++s)
    list.translations_.push_back(
        id_list(translations[s], vocabs.tgt.size(), where + ": 'translations' of source id " + std::to_string(s)));
  return list;
}

std::vector<int64_t> Shortlist::candidates(const int32_t* source, int64_t length, int64_t frequent,
                                           int64_t per_source) const {
  std::vector<int64_t> ids{kEos};
  // frequent_ may hold fewer tokens than its limit: a small vocabulary.
  const auto frequent_end = frequent_.begin() + std::min<int64_t>(frequent, static_cast<int64_t>(frequent_.size()));
  ids.insert(ids.end(), frequent_.begin(), frequent_end);
  for (int64_t i = 0; i < length; ++i) {
    const auto s = static_cast<size_t>(source[i]);
    if (!ordinary(source[i]) || s >= translations_.size()) continue;
    const auto& row = translations_[s];
    ids.insert(ids.end(), row.begin(), row.begin() + std::min<int64_t>(per_source, static_cast<int64_t>(row.size())));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace nmt
