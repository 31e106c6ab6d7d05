// Checkpoint averaging: the mean of several checkpoints' parameters, as a new checkpoint.
#pragma once
#include <string>
#include <vector>

namespace nmt {

// The checkpoints of a model directory: the `count` newest ("last") or best by validation ("best").
std::vector<std::string> select_checkpoints(const std::string& model_dir, const std::string& which, int64_t count);
// Writes the average of `inputs` to `output`; all must belong to the model in `model_dir`.
void average_checkpoints(const std::string& model_dir, const std::vector<std::string>& inputs, const std::string& output);

}  // namespace nmt
