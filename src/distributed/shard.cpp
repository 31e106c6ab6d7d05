#include "distributed/shard.hpp"

#include <stdexcept>

namespace nmt {
namespace {

// The first cut point after which at least `fraction`/`parts` of the total cost lies before it:
// the boundary between part `fraction - 1` and part `fraction`.
size_t boundary(const std::vector<int64_t>& costs, int64_t total, int fraction, int parts) {
  if (fraction <= 0) return 0;
  if (fraction >= parts) return costs.size();
  // Cut after example i when the prefix sum crosses the ideal share; of the two whole-example
  // cuts around the share, the nearer one wins (ties to the earlier).
  const __int128 target = static_cast<__int128>(total) * fraction;  // compared against prefix * parts
  __int128 prefix = 0;
  for (size_t i = 0; i < costs.size(); ++i) {
    const __int128 next = prefix + costs[i];
    if (next * parts >= target) {
      const __int128 before = target - prefix * parts, after = next * parts - target;
      return after < before ? i + 1 : i;
    }
    prefix = next;
  }
  return costs.size();
}

}  // namespace

std::pair<size_t, size_t> shard_range(const std::vector<int64_t>& costs, int part, int parts) {
  if (parts < 1 || part < 0 || part >= parts)
    throw std::invalid_argument("shard_range: part " + std::to_string(part) + " of " + std::to_string(parts));
  int64_t total = 0;
  for (const int64_t cost : costs) {
    if (cost < 0) throw std::invalid_argument("shard_range: negative cost");
    total += cost;
  }
  if (total == 0) {  // no costs to balance: equal counts
    const size_t n = costs.size();
    return {n * static_cast<size_t>(part) / static_cast<size_t>(parts),
            n * static_cast<size_t>(part + 1) / static_cast<size_t>(parts)};
  }
  return {boundary(costs, total, part, parts), boundary(costs, total, part + 1, parts)};
}

}  // namespace nmt
