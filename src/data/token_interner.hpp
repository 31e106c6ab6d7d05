// One tokenization pass over training text: provisional ids now, final vocabulary ids later.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/vocab.hpp"
#include "text/tokenizer.hpp"

namespace nmt {

// Token strings -> provisional ids in first-seen order, with counts: the training text is
// tokenized once, and the final vocabulary ids are a remapping of these. Lookups take views,
// so a token already seen costs a hash and a compare, no allocation.
class TokenInterner {
 public:
  // Overwrites `ids` with the tokens' ids, counting each occurrence.
  void intern(const TokenizedLine& tokens, std::vector<int32_t>& ids) {
    ids.resize(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) ids[i] = add(tokens[i], 1);
  }
  std::unordered_map<std::string, int64_t> counts() const {
    std::unordered_map<std::string, int64_t> counts;
    for (size_t i = 0; i < counts_.size(); ++i) counts[tokens_[i]] = counts_[i];
    return counts;
  }
  // Adds `count` occurrences of `token`, returning its id.
  int32_t add(std::string_view token, int64_t count) {
    auto found = ids_.find(token);
    if (found == ids_.end()) {
      tokens_.emplace_back(token);  // a deque: earlier tokens, which the keys view, never move
      found = ids_.emplace(tokens_.back(), static_cast<int32_t>(counts_.size())).first;
      counts_.push_back(0);
    }
    counts_[static_cast<size_t>(found->second)] += count;
    return found->second;
  }
  size_t size() const { return counts_.size(); }
  const std::string& token(size_t id) const { return tokens_[id]; }
  int64_t count(size_t id) const { return counts_[id]; }
  std::vector<int32_t> remap_to(const Vocab& vocab) const {
    std::vector<int32_t> mapping(tokens_.size());
    for (size_t i = 0; i < tokens_.size(); ++i) mapping[i] = vocab.id(tokens_[i]);
    return mapping;
  }

 private:
  std::unordered_map<std::string_view, int32_t> ids_;
  std::deque<std::string> tokens_;
  std::vector<int64_t> counts_;
};

// One tokenization worker's interner: it interns privately (no locking), and between blocks
// its new tokens get ids in the shared interner, so the worker's ids can be translated.
class WorkerInterner {
 public:
  void intern(const TokenizedLine& tokens, std::vector<int32_t>& ids) { local_.intern(tokens, ids); }
  // Gives the tokens first seen since the last sync their shared ids (serial: touches `shared`).
  void sync(TokenInterner& shared) {
    for (size_t id = to_shared_.size(); id < local_.size(); ++id) to_shared_.push_back(shared.add(local_.token(id), 0));
  }
  void translate(std::vector<int32_t>& ids) const {
    for (auto& id : ids) id = to_shared_[static_cast<size_t>(id)];
  }
  // Adds this worker's token counts to `shared` (once, at the end; after a sync).
  void merge_counts(TokenInterner& shared) const {
    for (size_t id = 0; id < local_.size(); ++id) shared.add(local_.token(id), local_.count(id));
  }

 private:
  TokenInterner local_;
  std::vector<int32_t> to_shared_;
};

}  // namespace nmt
