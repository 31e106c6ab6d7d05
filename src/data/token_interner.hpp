// One tokenization pass over training text: provisional ids now, final vocabulary ids later.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/vocab.hpp"

namespace nmt {

// Token strings -> provisional ids in first-seen order, with counts: the training text is
// tokenized once, and the final vocabulary ids are a remapping of these.
class TokenInterner {
 public:
  std::vector<int32_t> intern(const std::vector<std::string>& tokens) {
    std::vector<int32_t> ids(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
      auto [it, inserted] = ids_.try_emplace(tokens[i], static_cast<int32_t>(counts_.size()));
      if (inserted) counts_.push_back(0), tokens_.push_back(&it->first);
      ++counts_[static_cast<size_t>(it->second)];
      ids[i] = it->second;
    }
    return ids;
  }
  std::unordered_map<std::string, int64_t> counts() const {
    std::unordered_map<std::string, int64_t> counts;
    for (size_t i = 0; i < counts_.size(); ++i) counts[*tokens_[i]] = counts_[i];
    return counts;
  }
  std::vector<int32_t> remap_to(const Vocab& vocab) const {
    std::vector<int32_t> mapping(tokens_.size());
    for (size_t i = 0; i < tokens_.size(); ++i) mapping[i] = vocab.id(*tokens_[i]);
    return mapping;
  }

 private:
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<const std::string*> tokens_;
  std::vector<int64_t> counts_;
};

}  // namespace nmt
