// Evaluation mode without autograd for a scope; training mode comes back afterwards.
#pragma once
#include <torch/torch.h>

namespace nmt {

class EvaluationScope {
 public:
  explicit EvaluationScope(torch::nn::Module& module) : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvaluationScope() {
    if (was_training_) module_.train();
  }
  EvaluationScope(const EvaluationScope&) = delete;
  EvaluationScope& operator=(const EvaluationScope&) = delete;

 private:
  torch::InferenceMode inference_;
  torch::nn::Module& module_;
  bool was_training_;
};

}  // namespace nmt
