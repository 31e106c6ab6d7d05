#include "config/config_rules.hpp"

#include <cmath>

#include "config/config_error.hpp"

namespace nmt {

void check_combinations(const Config& c) {
  const auto& m = c.model;
  const int64_t enc_out = m.enc_hidden * (m.bidirectional ? 2 : 1);
  if (m.attention == "dot" && enc_out != m.dec_hidden)
    throw ConfigError(c.source_path + ": key 'model.attention': dot attention needs dec_hidden (" +
                      std::to_string(m.dec_hidden) + ") equal to the encoder output size (" +
                      std::to_string(enc_out) + ")");
  if (m.bridge == "copy" && enc_out != m.dec_hidden)
    throw ConfigError(c.source_path + ": key 'model.bridge': copy needs dec_hidden (" +
                      std::to_string(m.dec_hidden) + ") equal to the encoder output size (" +
                      std::to_string(enc_out) + ")");
  if (m.tie_embeddings && m.attention == "none" && m.emb_size != m.dec_hidden)
    throw ConfigError(c.source_path + ": key 'model.tie_embeddings': without attention it needs emb_size (" +
                      std::to_string(m.emb_size) + ") equal to dec_hidden (" + std::to_string(m.dec_hidden) + ")");
  if (c.training.lr_schedule == "cosine" && c.training.max_minutes <= 0 &&
      c.training.max_steps <= c.training.warmup_steps)
    throw ConfigError(c.source_path + ": key 'training.lr_schedule': cosine decays over training.max_steps "
                      "(which must then be larger than training.warmup_steps) or training.max_minutes; set one");
  if (c.training.anneal_from > 0 && c.training.lr_schedule != "cosine")
    throw ConfigError(c.source_path + ": key 'training.anneal_from': only the cosine schedule anneals; lr_schedule is '" +
                      c.training.lr_schedule + "'");
  if (m.tie_all_embeddings && (!m.tie_embeddings || !c.data.vocab.shared || c.task != "nmt"))
    throw ConfigError(c.source_path + ": key 'model.tie_all_embeddings': ties the source embeddings to the tied "
                      "target ones, so it needs task nmt, model.tie_embeddings: true and data.vocab.shared: true");
  const auto& t = c.training;
  if (t.batch_tokens > 0 && t.batch_tokens <= c.data.max_len)
    throw ConfigError(c.source_path + ": key 'training.batch_tokens': " + std::to_string(t.batch_tokens) +
                      " tokens cannot hold one sentence of data.max_len (" + std::to_string(c.data.max_len) +
                      ") tokens and its end marker; use at least " + std::to_string(c.data.max_len + 1) +
                      ", or 0 to batch by training.batch_size sentences");
  if (t.min_lr > t.lr && (t.lr_schedule == "plateau" || t.lr_schedule == "cosine"))
    throw ConfigError(c.source_path + ": key 'training.min_lr': the " + t.lr_schedule + " schedule decays from lr (" +
                      std::to_string(t.lr) + ") towards min_lr (" + std::to_string(t.min_lr) + "), which is above it");
  if (std::exp2(std::round(std::log2(t.loss_scale_init))) != t.loss_scale_init)
    throw ConfigError(c.source_path + ": key 'training.loss_scale_init': " + std::to_string(t.loss_scale_init) +
                      " is not a power of two; a power of two (65536 = 2^16) scales the gradients exactly");
  if (t.precision == "fp16" && t.loss_scaling == "off")
    throw ConfigError(c.source_path + ": key 'training.loss_scaling': fp16 products lose gradients below 2^-24 "
                      "without loss scaling; use auto or dynamic with training.precision fp16");
  if (!t.init_checkpoint.empty() && t.init_from.empty())
    throw ConfigError(c.source_path + ": key 'training.init_checkpoint': names a checkpoint of training.init_from, "
                      "which is not set");
  if (!t.init_from.empty() && t.init_from == t.dir)
    throw ConfigError(c.source_path + ": key 'training.init_from': '" + t.init_from +
                      "' is training.dir itself; fine-tuning writes a new directory (use --resume to continue a run)");
  if (m.input_feeding && m.attention == "none")
    throw ConfigError(c.source_path + ": key 'model.input_feeding': needs an attention type other than none");
  if (c.task == "lm" && t.lm_mode == "stream" && t.accumulate > 1)
    throw ConfigError(c.source_path + ": key 'training.accumulate': a stream language model carries its hidden state "
                      "across windows, so its batch is one piece; use lm_mode sentence or accumulate 1");
  if (c.task == "lm") {
    if (m.attention != "none")
      throw ConfigError(c.source_path + ": key 'model.attention': a language model (task: lm) has no attention; use none");
    const auto& metric = c.training.early_stopping_metric;
    if (metric == "bleu" || metric == "chrf")
      throw ConfigError(c.source_path + ": key 'training.early_stopping_metric': '" + metric +
                        "' needs translations; a language model (task: lm) stops on loss or ppl");
  }
}

}  // namespace nmt
