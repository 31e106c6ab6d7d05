// Token <-> id mapping with the specials at fixed ids.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/special_tokens.hpp"

namespace nmt {

class Vocab {
 public:
  // Orders by descending count, then by token bytes, so the result is deterministic.
  static Vocab build(const std::unordered_map<std::string, int64_t>& counts, int64_t min_freq, int64_t max_size);
  static Vocab load(const std::string& path);
  // One "token<TAB>count" per line, specials first.
  void save(const std::string& path) const;

  int32_t id(const std::string& token) const {
    const auto it = ids_.find(token);
    return it == ids_.end() ? kUnk : it->second;
  }
  const std::string& token(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  std::string to_text() const;

 private:
  void add(const std::string& token, int64_t count);
  std::vector<std::string> tokens_;
  std::vector<int64_t> counts_;
  std::unordered_map<std::string, int32_t> ids_;
};

struct Vocabs {
  Vocab src, tgt;
};

}  // namespace nmt
