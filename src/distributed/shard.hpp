// Deterministic, token-balanced cuts of a batch: which examples each rank (and each of its
// micro-batches) trains on.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace nmt {

// The [begin, end) range of `costs` (one per example, in the order the batch is cut) that part
// `part` of `parts` takes: contiguous pieces whose cost sums are as equal as whole examples
// allow. Parts may be empty when there are fewer examples than parts; together they cover
// every example exactly once.
std::pair<size_t, size_t> shard_range(const std::vector<int64_t>& costs, int part, int parts);

}  // namespace nmt
