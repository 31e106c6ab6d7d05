// Token, UNK, truncation and length statistics of one side of a split, for the manifest.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/vocab.hpp"

namespace nmt {

struct SideStats {
  int64_t tokens = 0;
  int64_t unknown = 0;
  int64_t truncated = 0;
  std::map<int64_t, int64_t> length_histogram;  // bounded by distinct lengths, not corpus size

  // `ids`: the whole sentence before truncation; `kept`: how many of them survive it.
  void add(const std::vector<int32_t>& ids, size_t kept) {
    length_histogram[static_cast<int64_t>(ids.size())]++;
    truncated += ids.size() > kept;
    for (size_t i = 0; i < std::min(kept, ids.size()); ++i) unknown += ids[i] == kUnk;
    tokens += static_cast<int64_t>(std::min(kept, ids.size()));
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

}  // namespace nmt
