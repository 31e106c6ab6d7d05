// Typed configuration: one struct per YAML section, with defaults.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nmt {

// One split's files: src/tgt for translation, text for a language model.
struct ParallelPaths {
  std::string src;
  std::string tgt;
  std::string text;
};

struct TokenizerConfig {
  std::string type = "word";  // whitespace | word | char | sentencepiece
  bool lowercase = false;
  int64_t vocab_size = 8000;  // sentencepiece only
  std::string model_type = "bpe";  // sentencepiece: bpe | unigram
};

struct VocabConfig {
  int64_t min_freq = 1;
  int64_t max_size = 0;  // 0 = unlimited
  bool shared = false;
};

struct DataConfig {
  ParallelPaths train, valid, test;
  std::string dir = "data-bin";
  TokenizerConfig tokenizer;
  VocabConfig vocab;
  int64_t max_len = 100;
  bool drop_long = false;  // drop over-long training pairs instead of truncating
  // Language codes (ISO 639-1, e.g. "de"), for `nmt serve`; empty: taken from the training files'
  // last extension (train.de.gz -> de). Labels only: they do not change the encoded data.
  std::string src_lang;
  std::string tgt_lang;
};

struct ModelConfig {
  std::string cell = "gru";  // rnn | gru | lstm
  int64_t emb_size = 256;
  int64_t enc_hidden = 256;  // per direction
  int64_t enc_layers = 1;
  bool bidirectional = true;
  int64_t dec_hidden = 512;
  int64_t dec_layers = 1;
  std::string bridge = "tanh";  // none | tanh | copy
  std::string attention = "general";  // none | dot | general | mlp
  bool input_feeding = false;
  bool tie_embeddings = false;
  // The source embeddings are the target ones too (three-way tying); needs data.vocab.shared.
  bool tie_all_embeddings = false;
  double dropout = 0.2;
  // > 0: every weight starts uniform in ±init_uniform (OpenNMT-py's and JoeyNMT's 0.1); 0: LibTorch's
  // per-layer defaults (embeddings N(0, 1)).
  double init_uniform = 0.0;
};

struct TrainingConfig {
  std::string dir = "model";
  std::string device = "auto";  // auto | cpu | cuda
  // Matrix products in fp32, bf16 or fp16 (CUDA only); weights, optimizer and loss stay fp32.
  // auto: bf16 where the CPU multiplies bf16 natively (AVX512_BF16 or AMX), else fp32. The default:
  // on a Zen 5 the de→en recipe scored 39.97 BLEU in bf16 and 39.43 in fp32 (docs/RESULTS.md).
  std::string precision = "auto";
  // Dynamic loss scaling (train/loss_scaler.hpp): auto turns it on for fp16 products.
  std::string loss_scaling = "auto";  // auto | dynamic | off
  double loss_scale_init = 65536;     // a power of two, so the scaled gradients stay exact
  int64_t loss_scale_growth_interval = 2000;
  int64_t batch_size = 64;
  int64_t batch_tokens = 0;  // 0 = batches by sentence count only
  int64_t max_steps = 0;  // 0 = unlimited
  int64_t max_epochs = 10;
  // 0 = unlimited; otherwise training stops, validates and checkpoints before this much wall
  // time (validations included, summed over resumes) has passed.
  double max_minutes = 0;
  double budget_seconds() const { return max_minutes * 60.0; }
  int64_t seed = 1;
  std::string optimizer = "adam";  // adam | adamw | sgd
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double weight_decay = 0.0;
  double momentum = 0.0;
  double clip_norm = 1.0;  // 0 = no clipping
  // Exponential moving average of the weights for validation, checkpoints and decoding; 0 = off.
  double ema_decay = 0.0;
  double label_smoothing = 0.0;
  double teacher_forcing = 1.0;
  int64_t teacher_forcing_decay_steps = 0;  // linear decay to teacher_forcing_min
  double teacher_forcing_min = 1.0;
  std::string lr_schedule = "constant";  // constant | plateau | inverse_sqrt | cosine (to min_lr at max_steps or max_minutes)
  double lr_decay = 0.5;
  int64_t lr_patience = 2;
  int64_t warmup_steps = 0;
  double min_lr = 1e-6;
  // cosine: hold lr for this fraction of the run, then anneal (0 = anneal over the whole run).
  double anneal_from = 0.0;
  int64_t valid_every = 500;
  int64_t log_every = 50;
  int64_t valid_bleu = 1;  // 1 = greedy-decode validation for BLEU/chrF
  std::string early_stopping_metric = "loss";  // loss | ppl | bleu | chrf
  int64_t patience = 0;  // 0 = no early stopping
  int64_t keep_last = 3;
  int64_t keep_best = 1;
  // Metrics also as TensorBoard event files in training.dir/tensorboard (for `tensorboard --logdir`).
  bool tensorboard = false;
  // Language models only.
  std::string lm_mode = "stream";  // stream (truncated BPTT over one token stream) | sentence
  int64_t bptt = 128;              // stream: tokens per window
  double bptt_jitter = 0.0;        // stream: std-dev of the window length (AWD-LSTM style); 0 = fixed
  // Fine-tuning: a trained model directory whose weights (and vocabularies) a new run starts
  // from, with a fresh optimizer and schedule; init_checkpoint picks one of its checkpoints
  // (default: its best, else its latest).
  std::string init_from;
  std::string init_checkpoint;
  // Gradient accumulation: each process's share of a batch runs as this many micro-batches,
  // summed into one update (fairseq's --update-freq): the same step in less memory.
  int64_t accumulate = 1;
};

// Data-parallel training on c10d (several processes; see docs/DISTRIBUTED.md).
struct DistributedConfig {
  std::string backend = "auto";  // auto (nccl on CUDA when built in, else gloo) | gloo | nccl
  // A collective that a peer does not join within this time fails every rank (c10d's own
  // default is 30 minutes of silence).
  double timeout_seconds = 300;
  double rendezvous_timeout_seconds = 300;  // for all ranks to join at start
  // How long the other ranks wait for rank 0 to validate and write a checkpoint.
  double checkpoint_timeout_seconds = 3600;
  std::string interface;  // network interface for Gloo (else GLOO_SOCKET_IFNAME); empty: the route to MASTER_ADDR
  double bucket_mb = 16;  // gradients are summed in flat buckets of this size
};

struct DecodingConfig {
  // fp32 | bf16 | fp16 | auto, as training.precision; or int8 (CPU): the encoder's and decoder's
  // matrices quantized per row when the model is loaded
  std::string precision = "fp32";
  int64_t batch_size = 64;
  int64_t beam_size = 1;
  double length_penalty = 0.6;  // GNMT alpha
  double max_len_a = 2.0;
  int64_t max_len_b = 10;
  // When beam search ends a sentence: best, once its best ended hypothesis (length-normalized)
  // scores above every live one, as OpenNMT-py and JoeyNMT stop at the top beam's end; full, once
  // beam_size hypotheses have ended.
  std::string beam_stop = "full";
  // Score only the sentence's shortlist (the model directory's shortlist.json, `nmt shortlist`):
  // the most frequent target tokens and the best translations of each source token.
  bool shortlist = false;
  int64_t shortlist_frequent = 100;
  int64_t shortlist_per_source = 50;
};

// `nmt serve`: the HTTP translation server.
struct ServeConfig {
  std::string host = "127.0.0.1";
  int64_t port = 5000;             // LibreTranslate's; 0 = any free port (logged)
  // HTTP worker threads: each holds one keep-alive connection, so more clients than this wait for
  // a free worker instead of getting an answer (or a 503) at once.
  int64_t threads = 256;
  // Connections the kernel holds for accept(): a burst of new connections beyond it overflows the
  // listen queue (capped by net.core.somaxconn).
  int64_t backlog = 1024;
  int64_t max_batch = 32;          // sentences decoded together
  double max_wait_ms = 5;          // how long the first queued request waits for company
  int64_t queue_limit = 64;        // requests waiting for the model; beyond: 503
  double timeout_seconds = 30;     // a request's deadline, queueing included; past it: 504
  int64_t char_limit = 5000;       // characters of one request (all of q); beyond: 413
  int64_t sentence_limit = 128;    // lines of one request; beyond: 413
  std::string api_keys_file;       // one key per line; empty: no key needed
  std::string cors_origin = "*";   // Access-Control-Allow-Origin; empty: no CORS headers
};

struct Config {
  std::string task = "nmt";  // nmt | lm
  DataConfig data;
  ModelConfig model;
  TrainingConfig training;
  DecodingConfig decoding;
  ServeConfig serve;
  DistributedConfig distributed;
  std::string source_path;  // file it was read from, for messages
};

// Reads a YAML config, applies `key.path=value` overrides, validates everything.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
// Same from YAML text (tests, model directories).
Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides = {});
// The fully resolved config, defaults included, as YAML.
std::string dump_config(const Config& config);
// YAML of one section, used to fingerprint preprocessed data.
std::string dump_section(const Config& config, const std::string& section);
// The keys of `section` whose values differ, one "key: 'a' vs 'b'" line each, in config order.
std::vector<std::string> differing_settings(const Config& a, const Config& b, const std::string& section);
// A section dumped by dump_section, re-emitted with the defaults of the keys it lacks: a dump
// made before a key existed then equals today's dump of the same settings. Throws on bad YAML.
std::string section_with_defaults(const std::string& section_yaml, const std::string& section);

}  // namespace nmt
