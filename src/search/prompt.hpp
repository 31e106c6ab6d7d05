// Language-model prompting: the state after reading a prompt, and the next decoder input.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/language_model.hpp"

namespace nmt {

struct PromptedState {
  DecoderState state;
  int32_t next_input;
};

// Reads `start_token` (SOS for a sentence LM, EOS, the line break, for a stream LM) and all
// but the last prompt token in one recurrent pass; the last one is the next input.
PromptedState read_prompt(LanguageModel& model, const std::vector<int32_t>& prompt, int32_t start_token,
                          const torch::Device& device);

}  // namespace nmt
