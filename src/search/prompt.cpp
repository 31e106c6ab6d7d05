#include "search/prompt.hpp"

namespace nmt {

PromptedState read_prompt(LanguageModel& model, const std::vector<int32_t>& prompt, int32_t start_token,
                          const torch::Device& device) {
  PromptedState prompted{model->start(1, device), start_token};
  if (prompt.empty()) return prompted;
  std::vector<int64_t> inputs{start_token};
  inputs.insert(inputs.end(), prompt.begin(), prompt.end() - 1);
  const auto tokens = torch::tensor(inputs, torch::kInt64).reshape({-1, 1}).to(device);
  model->forward(prompted.state, tokens);
  prompted.next_input = prompt.back();
  return prompted;
}

}  // namespace nmt
