#include "search/decode_corpus.hpp"

#include <algorithm>
#include <unordered_map>

namespace nmt {
namespace {

// The union of the shortlists of `sentences` (U, sorted) and which of its tokens each may produce (B, U).
std::pair<torch::Tensor, torch::Tensor> batch_shortlist(const std::vector<std::vector<int64_t>>& shortlists,
                                                        const std::vector<int64_t>& sentences,
                                                        const torch::Device& device) {
  std::vector<int64_t> ids;
  for (const int64_t sentence : sentences) {
    const auto& list = shortlists.at(static_cast<size_t>(sentence));
    ids.insert(ids.end(), list.begin(), list.end());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto allowed = torch::zeros({static_cast<int64_t>(sentences.size()), static_cast<int64_t>(ids.size())}, torch::kBool);
  auto rows = allowed.accessor<bool, 2>();
  for (size_t row = 0; row < sentences.size(); ++row)
    for (const int64_t id : shortlists[static_cast<size_t>(sentences[row])])
      rows[static_cast<int64_t>(row)][std::lower_bound(ids.begin(), ids.end(), id) - ids.begin()] = true;
  return {torch::tensor(ids, torch::kInt64).to(device), allowed.to(device)};
}

}  // namespace

std::vector<std::vector<Hypothesis>> decode_sequences(std::vector<DecodingMember> members,
                                                      const SearchOptions& options, int64_t batch_size,
                                                      const torch::Device& device,
                                                      const std::vector<std::vector<int64_t>>* shortlists) {
  torch::InferenceMode inference;
  std::vector<bool> was_training;
  for (auto& member : members) {
    was_training.push_back(member.model->is_training());
    member.model->eval();
  }
  const Sequences& first = *members.front().src;
  std::vector<std::vector<Hypothesis>> results(first.size(), std::vector<Hypothesis>(1));
  std::vector<int64_t> order;
  for (size_t i = 0; i < first.size(); ++i)
    if (std::all_of(members.begin(), members.end(), [&](const auto& member) { return member.src->length(i) > 0; }))
      order.push_back(static_cast<int64_t>(i));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return first.length(a) > first.length(b); });
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    const std::vector<int64_t> indices(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                       order.begin() + static_cast<std::ptrdiff_t>(end));
    std::vector<std::unique_ptr<StepScorer>> scorers;
    std::vector<double> weights;
    std::vector<int64_t> rows, lengths;  // the first member's sentence order and source lengths
    torch::Tensor shortlist_ids, shortlist_allowed;
    for (auto& member : members) {
      const Batch batch = collate(*member.src, nullptr, indices).to(device);
      auto state = member.model->start(batch.src, batch.src_len);
      if (rows.empty()) {
        rows = batch.indices;
        lengths.assign(batch.src_len.data_ptr<int64_t>(), batch.src_len.data_ptr<int64_t>() + batch.src_len.numel());
        if (shortlists) std::tie(shortlist_ids, shortlist_allowed) = batch_shortlist(*shortlists, rows, device);
      } else if (batch.indices != rows) {
        // collate sorts by this member's own lengths: bring its rows into the first member's order.
        std::unordered_map<int64_t, int64_t> position;
        for (size_t r = 0; r < batch.indices.size(); ++r) position[batch.indices[r]] = static_cast<int64_t>(r);
        std::vector<int64_t> reorder;
        for (const int64_t sentence : rows) reorder.push_back(position.at(sentence));
        const auto index = torch::tensor(reorder, torch::kInt64).to(device);
        state = state.select(index, index);
      }
      auto decoder = member.model->decoder();
      if (shortlists) decoder->restrict_output(state, shortlist_ids, shortlist_allowed);
      scorers.push_back(std::make_unique<DecoderScorer>(
          [decoder](DecoderState& s, const torch::Tensor& previous) mutable { return decoder->step(s, previous); },
          std::move(state)));
      weights.push_back(member.weight);
    }
    EnsembleScorer scorer(std::move(scorers), std::move(weights));
    auto hypotheses = options.beam_size > 1 ? beam_search(scorer, lengths, options)
                                            : greedy_search(scorer, lengths, options);
    for (size_t i = 0; i < hypotheses.size(); ++i) results[static_cast<size_t>(rows[i])] = std::move(hypotheses[i]);
  }
  for (size_t m = 0; m < members.size(); ++m)
    if (was_training[m]) members[m].model->train();
  return results;
}

std::vector<std::vector<Hypothesis>> decode_sequences(Seq2Seq& model, const Sequences& src,
                                                      const SearchOptions& options, int64_t batch_size,
                                                      const torch::Device& device) {
  return decode_sequences({DecodingMember{model, &src, 1.0}}, options, batch_size, device);
}

}  // namespace nmt
