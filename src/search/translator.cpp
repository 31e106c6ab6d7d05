#include "search/translator.hpp"

#include <algorithm>
#include <cmath>

#include "data/encode.hpp"
#include "search/decode_corpus.hpp"

namespace nmt {
namespace {

void require_same_target_vocabulary(const TrainedModel& first, const TrainedModel& other) {
  const Vocab &a = first.vocabs.tgt, &b = other.vocabs.tgt;
  const auto common = static_cast<int32_t>(std::min(a.size(), b.size()));
  int32_t id = 0;
  while (id < common && a.token(id) == b.token(id)) ++id;
  if (id == common && a.size() == b.size()) return;
  std::string detail = std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " tokens";
  if (id < common) detail += ", first difference at id " + std::to_string(id) + ": '" + a.token(id) + "' vs '" + b.token(id) + "'";
  throw std::runtime_error("ensemble: models '" + first.dir + "' and '" + other.dir +
                           "' have different target vocabularies (" + detail +
                           "); an ensemble averages scores over one target vocabulary");
}

}  // namespace

Translator::Translator(std::vector<WeightedModel> models, SearchOptions options, int64_t batch_size, bool replace_unk,
                       torch::Device device)
    : models_(std::move(models)), options_(options), batch_size_(batch_size), replace_unk_(replace_unk), device_(device) {
  if (models_.empty()) throw std::runtime_error("no model to translate with");
  for (const auto& member : models_) {
    member.model->translation_model();  // throws for a language model, naming its directory
    require_same_target_vocabulary(*models_.front().model, *member.model);
    if (!(member.weight > 0) || !std::isfinite(member.weight))
      throw std::runtime_error("ensemble: the weight of '" + member.model->dir + "' must be a positive number, not " +
                               std::to_string(member.weight));
    if ((member.model->int8 != nullptr) != (models_.front().model->int8 != nullptr))
      throw std::runtime_error("ensemble: '" + models_.front().model->dir + "' and '" + member.model->dir +
                               "' decode in different precisions (int8 and not); --precision sets every member's");
  }
  if (const auto& first = models_.front().model->int8) {
    int8_ = std::make_shared<Int8Weights>(first->engine());
    for (const auto& member : models_) int8_->merge(*member.model->int8);
  }
}

std::vector<Translation> Translator::translate(const std::vector<std::string>& lines, SearchOptions options) {
  options.keep_attention |= replace_unk_;
  std::vector<Translation> results(lines.size());
  std::vector<Sequences> encoded(models_.size());
  std::vector<bool> truncated(lines.size(), false);
  for (size_t m = 0; m < models_.size(); ++m) {
    const TrainedModel& model = *models_[m].model;
    const int64_t max_len = model.config.data.max_len;
    for (size_t i = 0; i < lines.size(); ++i) {
      auto tokens = model.src_tokenizer->tokenize(lines[i]);
      if (static_cast<int64_t>(tokens.size()) > max_len) {
        truncated[i] = true;
        tokens.resize(static_cast<size_t>(max_len));
      }
      encoded[m].push_back(encode_source(tokens, model.vocabs.src, max_len));
      if (m == 0) results[i].src_tokens = std::move(tokens);
    }
  }
  truncated_ += std::count(truncated.begin(), truncated.end(), true);
  std::vector<DecodingMember> members;
  for (size_t m = 0; m < models_.size(); ++m)
    members.push_back({models_[m].model->translation_model(), &encoded[m], models_[m].weight});
  const TrainedModel& first = *models_.front().model;
  std::vector<std::vector<int64_t>> shortlists;
  if (first.shortlist)
    for (size_t i = 0; i < lines.size(); ++i)
      shortlists.push_back(first.shortlist->candidates(encoded[0].data(i), encoded[0].length(i),
                                                       first.config.decoding.shortlist_frequent,
                                                       first.config.decoding.shortlist_per_source));
  const Int8Scope int8(int8_.get());
  const auto hypotheses = decode_sequences(members, options, batch_size_, device_, first.shortlist ? &shortlists : nullptr);
  for (size_t i = 0; i < lines.size(); ++i) {
    for (const auto& hypothesis : hypotheses[i]) {
      Translation::Candidate candidate;
      for (size_t t = 0; t < hypothesis.tokens.size(); ++t) {
        const int32_t id = hypothesis.tokens[t];
        std::string token = first.vocabs.tgt.token(id);
        if (replace_unk_ && id == kUnk && t < hypothesis.attention.size() && !results[i].src_tokens.empty()) {
          const auto& weights = hypothesis.attention[t];
          const auto source = std::max_element(weights.begin(), weights.end()) - weights.begin();
          token = results[i].src_tokens[std::min<size_t>(static_cast<size_t>(source), results[i].src_tokens.size() - 1)];
        }
        candidate.tokens.push_back(std::move(token));
      }
      candidate.text = first.tgt_tokenizer->detokenize(candidate.tokens);
      candidate.score = hypothesis.score;
      candidate.attention = hypothesis.attention;
      results[i].candidates.push_back(std::move(candidate));
    }
  }
  return results;
}

}  // namespace nmt
