#include "train/nmt_task.hpp"

#include <fmt/format.h>

#include "data/batch.hpp"
#include "data/data_dir.hpp"
#include "eval/sacrebleu.hpp"
#include "model/seq2seq.hpp"
#include "scoring/translation_loss.hpp"
#include "search/decode_corpus.hpp"
#include "text/line_reader.hpp"

namespace nmt {
namespace {

class NmtTask : public TrainingTask {
 public:
  NmtTask(const Config& config, const std::string& model_dir, const torch::Device& device)
      : config_(config),
        device_(device),
        vocabs_(load_vocabs(model_dir)),
        train_(load_split(config.data.dir, "train", vocabs_)),
        valid_(load_split(config.data.dir, "valid", vocabs_)),
        tgt_tokenizer_(load_tokenizer(model_dir, config.data.tokenizer, "tgt")),
        sampler_(BucketSampler::for_corpus(train_, bucket_options(config.training))),
        model_(config.model, vocabs_.src.size(), vocabs_.tgt.size()) {
    LineReader references(reference_path(config.data.dir, "valid"));
    for (std::string line; references.next(line);) valid_references_.push_back(line);
    model_->to(device);
  }

  torch::nn::Module& module() override { return *model_; }

  std::string describe() const override {
    const auto& m = config_.model;
    return fmt::format("{} {}-layer encoder{}, attention {}", m.cell, m.enc_layers,
                       m.bidirectional ? " (bidirectional)" : "", m.attention);
  }

  int64_t start_epoch(int64_t epoch) override {
    batches_ = sampler_.epoch_batches(epoch);
    log_epoch_batches(epoch, sampler_, batches_);
    return static_cast<int64_t>(batches_.size());
  }

  std::vector<int64_t> example_costs(int64_t position) const override {
    std::vector<int64_t> costs;
    for (const int64_t i : batches_[static_cast<size_t>(position)])
      costs.push_back(train_.src.length(static_cast<size_t>(i)) + train_.tgt.length(static_cast<size_t>(i)));
    return costs;
  }

  Batch examples(int64_t position, size_t begin, size_t end) override {
    return collate(train_.src, &train_.tgt, slice_of(batches_[static_cast<size_t>(position)], begin, end)).to(device_);
  }

  BatchLoss loss(const Batch& batch, double teacher_forcing) override {
    return {translation_loss_sum(model_, batch, teacher_forcing, config_.training.label_smoothing),
            batch.target_tokens};
  }

  nlohmann::json validate() override {
    const LossTotal loss = corpus_loss(model_, valid_, config_.decoding.batch_size, device_);
    nlohmann::json record = {{"loss", loss.mean()}, {"ppl", loss.perplexity()}};
    if (!config_.training.valid_bleu) return record;
    SearchOptions search = search_options(config_.decoding);
    search.beam_size = 1;  // validation decodes greedily
    const auto hypotheses = decode_sequences(model_, valid_.src, search, config_.decoding.batch_size, device_);
    std::vector<std::string> outputs;
    for (const auto& best : hypotheses) {
      std::vector<std::string> tokens;
      for (int32_t id : best.front().tokens) tokens.push_back(vocabs_.tgt.token(id));
      outputs.push_back(tgt_tokenizer_->detokenize(tokens));
    }
    record["bleu"] = corpus_bleu(outputs, valid_references_).score;
    record["chrf"] = corpus_chrf(outputs, valid_references_);
    return record;
  }

 private:
  Config config_;
  torch::Device device_;
  Vocabs vocabs_;
  ParallelCorpus train_, valid_;
  std::unique_ptr<Tokenizer> tgt_tokenizer_;
  std::vector<std::string> valid_references_;
  BucketSampler sampler_;
  std::vector<std::vector<int64_t>> batches_;
  Seq2Seq model_;
};

}  // namespace

std::unique_ptr<TrainingTask> make_nmt_task(const Config& config, const std::string& model_dir,
                                            const torch::Device& device) {
  return std::make_unique<NmtTask>(config, model_dir, device);
}

}  // namespace nmt
