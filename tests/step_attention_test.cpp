// Attention for decoding steps, row by row: against the module's batched LibTorch products, and
// a row alone against the same row in a batch padded further.
#include <gtest/gtest.h>

#include "model/attention.hpp"
#include "model/step_attention.hpp"

using namespace nmt;

namespace {

// Rows with sources of different lengths, padded to the longest: zeros on padding, as the encoder's memory is.
struct Source {
  torch::Tensor memory, mask;
};

Source padded_source(const std::vector<int64_t>& lengths, int64_t positions, int64_t width) {
  const auto rows = static_cast<int64_t>(lengths.size());
  auto mask = torch::zeros({rows, positions}, torch::kBool);
  for (int64_t r = 0; r < rows; ++r) mask[r].narrow(0, 0, lengths[static_cast<size_t>(r)]).fill_(true);
  const auto memory = torch::tanh(torch::randn({rows, positions, width}) * 2) * mask.unsqueeze(2);
  return {memory, mask};
}

}  // namespace

TEST(StepAttention, MatchesTheModulesBatchedProductsForDotAndGeneral) {
  torch::manual_seed(5);
  torch::NoGradGuard no_grad;
  const Source source = padded_source({7, 3, 12, 1, 12}, 12, 64);
  for (const char* kind : {"dot", "general"}) {
    Attention attention(kind, 64, 64);
    const auto query = torch::tanh(torch::randn({5, 1, 64}));
    const auto keys = attention->prepare_keys(source.memory);
    const auto [expected_context, expected_weights] = attention->forward(query, source.memory, keys, source.mask);
    const auto projected = std::string(kind) == "general"
                               ? torch::nn::functional::linear(query, attention->named_parameters()["query_projection.weight"])
                               : query;
    const auto [context, weights] = step_attention(projected.squeeze(1), source.memory, source.mask);
    EXPECT_TRUE(torch::allclose(context, expected_context.squeeze(1), 1e-5, 1e-6)) << kind;
    EXPECT_TRUE(torch::allclose(weights, expected_weights.squeeze(1), 1e-5, 1e-6)) << kind;
    EXPECT_TRUE(weights.masked_select(source.mask.logical_not()).eq(0).all().item<bool>()) << kind;
  }
}

TEST(StepAttention, ARowGivesTheSameBitsAloneAsInAnyPaddedBatchAndFromATransposedMemory) {
  torch::manual_seed(6);
  const Source source = padded_source({9, 4, 30, 17, 2, 30, 11}, 30, 96);
  const auto query = torch::tanh(torch::randn({7, 96}));
  const auto [context, weights] = step_attention(query, source.memory, source.mask);
  for (int64_t r = 0; r < 7; ++r) {
    const int64_t length = source.mask[r].sum().item<int64_t>();
    // Alone, padded only to its own length.
    const auto own_memory = source.memory.narrow(0, r, 1).narrow(1, 0, length);
    const auto [alone_context, alone_weights] =
        step_attention(query.narrow(0, r, 1), own_memory, source.mask.narrow(0, r, 1).narrow(1, 0, length));
    EXPECT_TRUE(alone_context[0].equal(context[r])) << "row " << r;
    EXPECT_TRUE(alone_weights[0].equal(weights[r].narrow(0, 0, length))) << "row " << r;
  }
  // The encoder's memory often arrives as a (S, B, M) tensor seen as (B, S, M): read in place, the same bits.
  const auto transposed = source.memory.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(transposed.is_contiguous());
  const auto [strided_context, strided_weights] = step_attention(query, transposed, source.mask);
  EXPECT_TRUE(strided_context.equal(context));
  EXPECT_TRUE(strided_weights.equal(weights));
  EXPECT_THROW(step_attention(query, source.memory, source.mask.narrow(1, 0, 5)), std::invalid_argument);
}
