// One side of an encoded split: applies its length rule to whole id sequences, writes them and
// gathers the manifest's statistics.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/corpus.hpp"
#include "data/corpus_stats.hpp"
#include "data/encode.hpp"

namespace nmt {

class SideWriter {
 public:
  // whole: as is (language-model text); source: ids[:max_len]; target: SOS + ids[:max_len-2] + EOS.
  enum class Rule { whole, source, target };
  SideWriter(const std::string& path, Rule rule, int64_t max_len = 0)
      : writer_(path),
        rule_(rule),
        max_len_(max_len),
        kept_(rule == Rule::whole    ? std::numeric_limits<size_t>::max()
              : rule == Rule::source ? static_cast<size_t>(max_len)
                                     : static_cast<size_t>(max_len - 2)) {}
  void add(const std::vector<int32_t>& ids) {
    stats_.add(ids, kept_);
    ++sentences_;
    if (rule_ == Rule::target) {
      wrap_target_into(ids, max_len_, wrapped_);
      writer_.write(wrapped_);
    } else {
      writer_.write(ids.data(), std::min(ids.size(), kept_));
    }
  }
  int64_t sentences() const { return sentences_; }
  nlohmann::json finish() {
    writer_.close();
    return stats_.to_json();
  }

 private:
  SequenceWriter writer_;
  Rule rule_;
  int64_t max_len_;
  size_t kept_;
  SideStats stats_;
  std::vector<int32_t> wrapped_;
  int64_t sentences_ = 0;
};

}  // namespace nmt
