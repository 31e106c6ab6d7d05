#include "search/step_scorer.hpp"

#include <numeric>
#include <stdexcept>

namespace nmt {

StepScores DecoderScorer::step(const torch::Tensor& previous) {
  const auto out = step_(state_, previous);
  // Over a restricted output the distribution is normalised over its tokens, as Marian's shortlists are.
  return {torch::log_softmax(out.logits.to(torch::kFloat), -1), out.attention, state_.output.ids};
}

void DecoderScorer::select(const torch::Tensor& recurrent_index, const torch::Tensor& source_index) {
  state_ = state_.select(recurrent_index, source_index);
}

EnsembleScorer::EnsembleScorer(std::vector<std::unique_ptr<StepScorer>> members, std::vector<double> weights)
    : members_(std::move(members)), weights_(std::move(weights)) {
  if (members_.empty() || members_.size() != weights_.size())
    throw std::invalid_argument("EnsembleScorer: one weight per member, at least one member");
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  for (auto& weight : weights_) weight /= total;
}

StepScores EnsembleScorer::step(const torch::Tensor& previous) {
  if (members_.size() == 1) return members_.front()->step(previous);
  StepScores combined;
  for (size_t i = 0; i < members_.size(); ++i) {
    auto scores = members_[i]->step(previous);
    auto weighted = scores.log_probs * weights_[i];
    combined.log_probs = combined.log_probs.defined() ? combined.log_probs + weighted : weighted;
    if (i == 0) {
      combined.attention = scores.attention;
      combined.token_ids = scores.token_ids;
    } else if (scores.token_ids.defined() != combined.token_ids.defined() ||
               (scores.token_ids.defined() && !scores.token_ids.equal(combined.token_ids))) {
      throw std::logic_error("EnsembleScorer: members score different target tokens");
    }
  }
  return combined;
}

void EnsembleScorer::select(const torch::Tensor& recurrent_index, const torch::Tensor& source_index) {
  for (auto& member : members_) member->select(recurrent_index, source_index);
}

}  // namespace nmt
