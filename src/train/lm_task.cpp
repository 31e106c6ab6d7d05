#include "train/lm_task.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "data/batch.hpp"
#include "data/data_dir.hpp"
#include "data/encode.hpp"
#include "data/token_streams.hpp"
#include "model/language_model.hpp"
#include "scoring/lm_loss.hpp"

namespace nmt {
namespace {

class LmTask : public TrainingTask {
 public:
  LmTask(const Config& config, const std::string& model_dir, const torch::Device& device)
      : config_(config),
        device_(device),
        vocab_(load_vocabs(model_dir, "lm").tgt),
        model_(config.model, vocab_.size()) {
    model_->to(device);
  }
  torch::nn::Module& module() override { return *model_; }
  std::string describe() const override {
    const auto& m = config_.model;
    return fmt::format("{}-layer {} language model ({} mode), hidden {}{}", m.dec_layers, m.cell,
                       config_.training.lm_mode, m.dec_hidden, m.tie_embeddings ? ", tied embeddings" : "");
  }

 protected:
  nlohmann::json report(const LossTotal& loss) const {
    return lm_loss_report(loss, config_.data.tokenizer.type == "char");
  }
  Config config_;
  torch::Device device_;
  Vocab vocab_;
  LanguageModel model_;
};

// Truncated BPTT over B parallel streams; the hidden state is carried (detached) across windows.
class StreamLmTask : public LmTask {
 public:
  StreamLmTask(const Config& config, const std::string& model_dir, const torch::Device& device)
      : LmTask(config, model_dir, device),
        train_(load_text_split(config.data.dir, "train", vocab_), config.training.batch_size),
        valid_(load_text_split(config.data.dir, "valid", vocab_), config.decoding.batch_size) {}

  int64_t start_epoch(int64_t epoch) override {
    const auto& t = config_.training;
    windows_ = window_lengths(train_.length(), t.bptt, t.bptt_jitter, static_cast<uint64_t>(t.seed), epoch);
    window_starts_.assign(1, 0);
    for (const int64_t length : windows_) window_starts_.push_back(window_starts_.back() + length);
    state_ = model_->start(train_.streams(), device_);
    spdlog::info("epoch {}: {} windows over {} streams of {} tokens", epoch + 1, windows_.size(), train_.streams(),
                 train_.length());
    return static_cast<int64_t>(windows_.size());
  }

  // One window over all streams is one example: the carried state ties the streams' rows to it
  // (the config refuses training.accumulate > 1 and the trainer more than one process).
  std::vector<int64_t> example_costs(int64_t position) const override {
    return {train_.target_tokens(window_starts_[static_cast<size_t>(position)], windows_[static_cast<size_t>(position)])};
  }

  Batch examples(int64_t position, size_t begin, size_t end) override {
    if (begin != 0 || end != 1) throw std::logic_error("a stream LM window is not divided");
    const int64_t start = window_starts_[static_cast<size_t>(position)];
    const int64_t length = windows_[static_cast<size_t>(position)];
    const auto [inputs, targets] = train_.window(start, length);
    Batch batch;
    batch.tgt_in = inputs.to(device_);
    batch.tgt_out = targets.to(device_);
    batch.target_tokens = train_.target_tokens(start, length);
    return batch;
  }

  BatchLoss loss(const Batch& batch, double /*teacher_forcing*/) override {
    state_ = state_.detached();  // gradients stop at the window boundary; the values carry on
    const auto logits = model_->forward(state_, batch.tgt_in);
    return {token_loss_sum(logits, batch.tgt_out, config_.training.label_smoothing), batch.target_tokens};
  }

  nlohmann::json validate() override { return report(stream_loss(model_, valid_, config_.training.bptt, device_)); }

  CarriedState carried_state() const override {
    CarriedState carried{{"h", state_.rnn.h.detach()}};
    if (state_.rnn.c.defined()) carried["c"] = state_.rnn.c.detach();
    return carried;
  }
  void restore_carried_state(const CarriedState& carried) override {
    if (!carried.count("h")) throw std::runtime_error("checkpoint has no carried hidden state for stream training");
    state_.rnn.h = carried.at("h").to(device_);
    if (carried.count("c")) state_.rnn.c = carried.at("c").to(device_);
  }

 private:
  TokenStreams train_, valid_;
  std::vector<int64_t> windows_, window_starts_;
  DecoderState state_;
};

// Each line is a sequence SOS ... EOS, bucketed and packed like translation sources.
class SentenceLmTask : public LmTask {
 public:
  SentenceLmTask(const Config& config, const std::string& model_dir, const torch::Device& device)
      : LmTask(config, model_dir, device),
        train_(sentence_sequences(load_text_split(config.data.dir, "train", vocab_), config.data.max_len)),
        valid_(sentence_sequences(load_text_split(config.data.dir, "valid", vocab_), config.data.max_len)),
        sampler_(std::vector<int64_t>(train_.size(), 0), lengths_of(train_), bucket_options(config.training)) {
    if (train_.size() == 0) throw std::runtime_error("'" + config.data.dir + "': the training text has no non-empty lines");
  }

  int64_t start_epoch(int64_t epoch) override {
    batches_ = sampler_.epoch_batches(epoch);
    log_epoch_batches(epoch, sampler_, batches_);
    return static_cast<int64_t>(batches_.size());
  }

  std::vector<int64_t> example_costs(int64_t position) const override {
    std::vector<int64_t> costs;
    for (const int64_t i : batches_[static_cast<size_t>(position)]) costs.push_back(train_.length(static_cast<size_t>(i)));
    return costs;
  }

  Batch examples(int64_t position, size_t begin, size_t end) override {
    return collate_targets(train_, slice_of(batches_[static_cast<size_t>(position)], begin, end)).to(device_);
  }

  BatchLoss loss(const Batch& batch, double /*teacher_forcing*/) override {
    return {sentence_batch_loss(model_, batch, config_.training.label_smoothing), batch.target_tokens};
  }

  nlohmann::json validate() override {
    return report(sentence_loss(model_, valid_, config_.decoding.batch_size, device_));
  }

 private:
  static std::vector<int64_t> lengths_of(const Sequences& sequences) {
    std::vector<int64_t> lengths(sequences.size());
    for (size_t i = 0; i < sequences.size(); ++i) lengths[i] = sequences.length(i);
    return lengths;
  }
  Sequences train_, valid_;
  BucketSampler sampler_;
  std::vector<std::vector<int64_t>> batches_;
};

}  // namespace

std::unique_ptr<TrainingTask> make_lm_task(const Config& config, const std::string& model_dir,
                                           const torch::Device& device) {
  if (config.training.lm_mode == "sentence") return std::make_unique<SentenceLmTask>(config, model_dir, device);
  return std::make_unique<StreamLmTask>(config, model_dir, device);
}

}  // namespace nmt
