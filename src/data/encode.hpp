// Turning tokens into the id sequences the model sees, with the max_len rules.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/corpus.hpp"
#include "data/vocab.hpp"

namespace nmt {

std::vector<int32_t> lookup_ids(const std::vector<std::string>& tokens, const Vocab& vocab);
// Source: ids[:max_len].
std::vector<int32_t> truncate_source(const std::vector<int32_t>& ids, int64_t max_len);
// Target: SOS + ids[:max_len-2] + EOS.
std::vector<int32_t> wrap_target(const std::vector<int32_t>& ids, int64_t max_len);
// The same into `out`, reusing its buffer.
void wrap_target_into(const std::vector<int32_t>& ids, int64_t max_len, std::vector<int32_t>& out);
// Source: ids of tokens[:max_len].
std::vector<int32_t> encode_source(const std::vector<std::string>& tokens, const Vocab& vocab, int64_t max_len);
// Target: SOS + ids of tokens[:max_len-2] + EOS.
std::vector<int32_t> encode_target(const std::vector<std::string>& tokens, const Vocab& vocab, int64_t max_len);
// Sentence language models: each non-empty line as a target, SOS + ids[:max_len-2] + EOS.
Sequences sentence_sequences(const Sequences& lines, int64_t max_len);

}  // namespace nmt
