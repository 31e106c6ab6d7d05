#include "search/translator.hpp"

#include <algorithm>

#include "data/encode.hpp"
#include "search/decode_corpus.hpp"

namespace nmt {

Translator::Translator(TrainedModel& model, SearchOptions options, int64_t batch_size, bool replace_unk,
                       torch::Device device)
    : model_(model), network_(model.translation_model()), options_(options), batch_size_(batch_size), replace_unk_(replace_unk), device_(device) {
  options_.keep_attention |= replace_unk_;
}

std::vector<Translation> Translator::translate(const std::vector<std::string>& lines) {
  const int64_t max_len = model_.config.data.max_len;
  std::vector<Translation> results(lines.size());
  Sequences encoded;
  for (size_t i = 0; i < lines.size(); ++i) {
    results[i].src_tokens = model_.src_tokenizer->tokenize(lines[i]);
    if (static_cast<int64_t>(results[i].src_tokens.size()) > max_len) {
      ++truncated_;
      results[i].src_tokens.resize(static_cast<size_t>(max_len));
    }
    encoded.push_back(encode_source(results[i].src_tokens, model_.vocabs.src, max_len));
  }
  const auto hypotheses = decode_sequences(network_, encoded, options_, batch_size_, device_);
  for (size_t i = 0; i < lines.size(); ++i) {
    for (const auto& hypothesis : hypotheses[i]) {
      Translation::Candidate candidate;
      for (size_t t = 0; t < hypothesis.tokens.size(); ++t) {
        const int32_t id = hypothesis.tokens[t];
        std::string token = model_.vocabs.tgt.token(id);
        if (replace_unk_ && id == kUnk && t < hypothesis.attention.size() && !results[i].src_tokens.empty()) {
          const auto& weights = hypothesis.attention[t];
          const auto source = std::max_element(weights.begin(), weights.end()) - weights.begin();
          token = results[i].src_tokens[std::min<size_t>(static_cast<size_t>(source), results[i].src_tokens.size() - 1)];
        }
        candidate.tokens.push_back(std::move(token));
      }
      candidate.text = model_.tgt_tokenizer->detokenize(candidate.tokens);
      candidate.score = hypothesis.score;
      candidate.attention = hypothesis.attention;
      results[i].candidates.push_back(std::move(candidate));
    }
  }
  return results;
}

}  // namespace nmt
