#include "search/search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>


namespace nmt {
namespace {

int64_t max_output_length(int64_t src_len, const SearchOptions& options) {
  return std::max<int64_t>(1, static_cast<int64_t>(options.max_len_a * src_len) + options.max_len_b);
}

std::vector<float> row_of(const torch::Tensor& attention, int64_t row) {
  const auto values = attention[row].contiguous();
  return std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
}

}  // namespace

SearchOptions search_options(const DecodingConfig& decoding) {
  SearchOptions options;
  options.beam_size = decoding.beam_size;
  options.length_penalty = decoding.length_penalty;
  options.max_len_a = decoding.max_len_a;
  options.max_len_b = decoding.max_len_b;
  options.stop_at_best = decoding.beam_stop == "best";
  return options;
}

double gnmt_length_penalty(size_t length, double alpha) {
  return std::pow((5.0 + static_cast<double>(length)) / 6.0, alpha);
}

std::vector<std::vector<Hypothesis>> greedy_search(StepScorer& scorer, const std::vector<int64_t>& src_len,
                                                   const SearchOptions& options) {
  const auto batch_size = static_cast<int64_t>(src_len.size());
  std::vector<Hypothesis> hypotheses(static_cast<size_t>(batch_size));
  std::vector<int64_t> active(static_cast<size_t>(batch_size));  // batch rows still decoding
  for (int64_t i = 0; i < batch_size; ++i) active[static_cast<size_t>(i)] = i;
  auto previous = torch::full({batch_size}, options.start_token, torch::TensorOptions().dtype(torch::kInt64).device(scorer.device()));
  for (int64_t t = 0; !active.empty(); ++t) {
    const auto out = scorer.step(previous);
    const auto [best_logp, best_column] = out.log_probs.max(-1);
    const auto best_token = out.tokens(best_column);
    const auto logp_host = best_logp.cpu(), token_host = best_token.cpu();
    const auto logp_cpu = logp_host.accessor<float, 1>();
    const auto token_cpu = token_host.accessor<int64_t, 1>();
    const auto attention_cpu = options.keep_attention && out.attention.defined() ? out.attention.cpu() : torch::Tensor();
    std::vector<int64_t> keep_rows, still_active;
    for (size_t row = 0; row < active.size(); ++row) {
      auto& hypothesis = hypotheses[static_cast<size_t>(active[row])];
      const auto token = static_cast<int32_t>(token_cpu[static_cast<int64_t>(row)]);
      hypothesis.score += logp_cpu[static_cast<int64_t>(row)];
      if (attention_cpu.defined()) hypothesis.attention.push_back(row_of(attention_cpu, static_cast<int64_t>(row)));
      const bool ended = token == kEos && options.stop_at_eos;
      if (!ended) hypothesis.tokens.push_back(token);
      if (ended || t + 1 >= max_output_length(src_len[static_cast<size_t>(active[row])], options)) continue;
      keep_rows.push_back(static_cast<int64_t>(row));
      still_active.push_back(active[row]);
    }
    if (still_active.size() != active.size() && !still_active.empty()) {
      // Finished sentences leave the batch, so later steps only pay for live ones.
      const auto index = torch::tensor(keep_rows, torch::kInt64).to(best_token.device());
      scorer.select(index, index);
      previous = best_token.index_select(0, index);
    } else {
      previous = best_token;
    }
    active.swap(still_active);
  }
  std::vector<std::vector<Hypothesis>> results;
  for (auto& hypothesis : hypotheses) {
    hypothesis.normalized = hypothesis.score / gnmt_length_penalty(hypothesis.tokens.size() + 1, options.length_penalty);
    results.push_back({std::move(hypothesis)});
  }
  return results;
}

std::vector<std::vector<Hypothesis>> beam_search(StepScorer& scorer, const std::vector<int64_t>& src_len,
                                                 const SearchOptions& options) {
  const int64_t beam = options.beam_size;
  const auto batch_size = static_cast<int64_t>(src_len.size());
  const auto device = scorer.device();
  const auto long_options = torch::TensorOptions().dtype(torch::kInt64).device(device);
  struct Beam {
    std::vector<int32_t> tokens;
    double score = 0;
    std::vector<std::vector<float>> attention;
  };
  struct Candidate {
    double score;
    int64_t beam_index;
    int32_t token;
  };
  // The best ended hypothesis ranks above every live one as it stands (length-normalized).
  const auto settled = [&options](const std::vector<Hypothesis>& ended, const std::vector<Beam>& live) {
    if (ended.size() < static_cast<size_t>(std::max<int64_t>(1, options.nbest))) return false;
    double best_ended = -std::numeric_limits<double>::infinity();
    for (const auto& hypothesis : ended) best_ended = std::max(best_ended, hypothesis.normalized);
    for (const auto& hypothesis : live)
      if (hypothesis.score / gnmt_length_penalty(hypothesis.tokens.size() + 1, options.length_penalty) > best_ended)
        return false;
    return true;
  };
  // Sentences still searching, in state row order: sentence active[a] owns rows
  // a*width .. a*width+width-1, of which the first beams[active[a]].size() are live. All beams
  // of a sentence start out equal, so the first step runs one row per sentence (width 1) and
  // later steps `beam` rows. Finished sentences leave the batch.
  int64_t width = 1;
  std::vector<int64_t> active(static_cast<size_t>(batch_size));
  for (int64_t b = 0; b < batch_size; ++b) active[static_cast<size_t>(b)] = b;
  std::vector<std::vector<Beam>> beams(static_cast<size_t>(batch_size), std::vector<Beam>(1));
  std::vector<std::vector<Hypothesis>> finished(static_cast<size_t>(batch_size));
  auto previous = torch::full({batch_size}, options.start_token, long_options);
  const size_t wanted = static_cast<size_t>(std::max(options.nbest, beam));
  for (int64_t t = 0; !active.empty(); ++t) {
    const auto out = scorer.step(previous);
    const auto& logp = out.log_probs;  // (rows, V)
    const auto top = logp.topk(std::min<int64_t>(2 * beam, logp.size(1)), -1);
    const auto top_logp_cpu = std::get<0>(top).cpu(), top_token_cpu = out.tokens(std::get<1>(top)).cpu();
    const auto top_logp = top_logp_cpu.accessor<float, 2>();
    const auto top_token = top_token_cpu.accessor<int64_t, 2>();
    const auto attention_cpu = options.keep_attention && out.attention.defined() ? out.attention.cpu() : torch::Tensor();
    std::vector<int64_t> next_rows, next_tokens, still_active;
    for (size_t a = 0; a < active.size(); ++a) {
      const int64_t b = active[a];
      const auto base = static_cast<int64_t>(a) * width;
      auto& sentence_beams = beams[static_cast<size_t>(b)];
      std::vector<Candidate> candidates;
      for (size_t k = 0; k < sentence_beams.size(); ++k) {
        const int64_t row = base + static_cast<int64_t>(k);
        for (int64_t j = 0; j < top_logp.size(1); ++j)
          candidates.push_back({sentence_beams[k].score + top_logp[row][j], static_cast<int64_t>(k),
                                static_cast<int32_t>(top_token[row][j])});
      }
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const Candidate& x, const Candidate& y) { return x.score > y.score; });
      const int64_t limit = max_output_length(src_len[static_cast<size_t>(b)], options);
      const bool last_step = t + 1 >= limit;
      auto& ended = finished[static_cast<size_t>(b)];
      std::vector<Beam> next;
      std::vector<int64_t> parents;
      for (const auto& candidate : candidates) {
        // -inf: a token the sentence's shortlist leaves out, never a hypothesis.
        if (static_cast<int64_t>(next.size()) >= beam || std::isinf(candidate.score)) break;
        const Beam& parent = sentence_beams[static_cast<size_t>(candidate.beam_index)];
        Beam child{parent.tokens, candidate.score, parent.attention};
        if (attention_cpu.defined()) child.attention.push_back(row_of(attention_cpu, base + candidate.beam_index));
        const bool eos = candidate.token == kEos && options.stop_at_eos;
        if (eos || last_step) {
          if (!eos) child.tokens.push_back(candidate.token);
          const double normalized = child.score / gnmt_length_penalty(child.tokens.size() + 1, options.length_penalty);
          ended.push_back({std::move(child.tokens), child.score, normalized, std::move(child.attention)});
          continue;
        }
        child.tokens.push_back(candidate.token);
        parents.push_back(base + candidate.beam_index);
        next_tokens.push_back(candidate.token);
        next.push_back(std::move(child));
      }
      // Done when enough hypotheses ended (the standard stopping rule) or nothing is left to extend;
      // with stop_at_best also once no live hypothesis, ended now, would rank above the best ended.
      if (next.empty() || last_step || ended.size() >= wanted ||
          (options.stop_at_best && settled(ended, next))) {
        next_tokens.resize(next_tokens.size() - next.size());
        sentence_beams.clear();
        continue;
      }
      still_active.push_back(b);
      next_rows.insert(next_rows.end(), parents.begin(), parents.end());
      for (size_t k = next.size(); k < static_cast<size_t>(beam); ++k) {
        next_rows.push_back(base);  // padding rows keep the block size; never read back
        next_tokens.push_back(kPad);
      }
      sentence_beams = std::move(next);
    }
    const bool rows_moved = still_active.size() != active.size() || width != beam;
    active.swap(still_active);
    if (active.empty()) break;
    // Every row of a block holds its sentence's source, so the source side only moves when
    // sentences leave or blocks widen; each new row then takes its parent row's source.
    const auto parent_rows = torch::tensor(next_rows, long_options);
    scorer.select(parent_rows, rows_moved ? parent_rows : torch::Tensor());
    width = beam;
    previous = torch::tensor(next_tokens, long_options);
  }
  std::vector<std::vector<Hypothesis>> results(static_cast<size_t>(batch_size));
  for (int64_t b = 0; b < batch_size; ++b) {
    auto& ended = finished[static_cast<size_t>(b)];
    std::stable_sort(ended.begin(), ended.end(),
                     [](const Hypothesis& x, const Hypothesis& y) { return x.normalized > y.normalized; });
    ended.resize(std::min(ended.size(), static_cast<size_t>(std::max<int64_t>(1, options.nbest))));
    results[static_cast<size_t>(b)] = std::move(ended);
  }
  return results;
}

}  // namespace nmt
