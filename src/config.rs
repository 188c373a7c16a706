//! `TrainConfig`: every hyperparameter of a training run, validated once and recorded with
//! the outputs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which words predict which (word2vec.c pairing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Each context word's input vector predicts the centre word's tree path.
    Skipgram,
    /// The mean of the context input vectors predicts the centre word's path.
    Cbow,
}

/// word2vec output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// `V dim` header, then `word v1 ... vdim` per line.
    Text,
    /// `V dim` header, then `word ` and `dim` little-endian f32 per word.
    Binary,
}

/// The output side: how a target word is scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Hierarchical softmax: walk the target's tree path (word2vec.c `-hs 1`).
    Hs,
    /// Negative sampling: the target plus `negative` words drawn from unigram^0.75
    /// (word2vec.c `-hs 0 -negative K`), the sampled baseline.
    Ns,
}

/// Shape of the hierarchical-softmax tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TreeShape {
    /// Huffman code by count (word2vec.c): frequent words shallow, rare words deep.
    Huffman,
    /// Balanced tree of depth ceil(log2 V) over the words in frequency order.
    Balanced,
    /// Balanced tree over the words in a random order drawn from `--seed`.
    Random,
    /// The cheapest tree (sum of count times depth) no deeper than `--max-code-len`:
    /// length-limited Huffman by package-merge.
    #[serde(rename = "huffman-capped")]
    HuffmanCapped,
    /// Huffman over the tokens subsampling keeps (count times keep probability): the
    /// frequencies training actually sees.
    #[serde(rename = "huffman-kept")]
    HuffmanKept,
}

/// What happens to a node whose score f is outside the sigmoid table (|f| >= 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SaturationPolicy {
    /// Skip the update (word2vec.c hierarchical softmax), even when confidently wrong.
    Skip,
    /// Step anyway, with sigmoid at its limit 0 or 1 (word2vec.c negative sampling,
    /// fastText): agreeing scores step by nothing, disagreeing ones by the full gradient.
    Clamp,
}

/// Step rule for both parameter matrices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Plain SGD with the linearly decaying learning rate (word2vec.c).
    Sgd,
    /// Row-wise AdaGrad: one accumulator of mean squared gradients per matrix row; the
    /// decaying learning rate is divided by its square root.
    Adagrad,
}

/// How the rows of one matrix start (`--input-init`, `--output-init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RowInit {
    /// Every element 0.
    Zero,
    /// Uniform in [-0.5, 0.5)/dim (word2vec.c's input vectors).
    Word2vec,
    /// Uniform in [-a, a), a = sqrt(6 / (dim + 1)) (Glorot, each row a unit with dim
    /// inputs and one output).
    Xavier,
    /// Normal with standard deviation sqrt(2 / dim) (He, fan-in = dim).
    He,
}

/// A preset pair of input and output initialisations (`--init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// Inputs uniform in [-0.5, 0.5)/dim, output rows zero (word2vec.c).
    Word2vec,
    /// Both matrices uniform in [-a, a), a = sqrt(6 / (dim + 1)) (Glorot, each row a unit
    /// with dim inputs and one output).
    Xavier,
    /// Both matrices normal with standard deviation sqrt(2 / dim) (He, fan-in = dim).
    He,
    /// Inputs zero, output rows uniform in [-0.5, 0.5)/dim: word2vec.c mirrored, so the
    /// first steps reach the inputs through random output rows.
    ZeroOut,
}

impl Init {
    /// The (input, output) row initialisations of the preset.
    pub fn rows(self) -> (RowInit, RowInit) {
        match self {
            Init::Word2vec => (RowInit::Word2vec, RowInit::Zero),
            Init::Xavier => (RowInit::Xavier, RowInit::Xavier),
            Init::He => (RowInit::He, RowInit::He),
            Init::ZeroOut => (RowInit::Zero, RowInit::Word2vec),
        }
    }
}

/// Default number of top inner nodes each thread replicates.
pub const DEFAULT_REPLICATE_TOP: usize = 64;
/// Default words between publishing the replicated nodes.
pub const DEFAULT_REPLICATE_EVERY: u64 = 256;

/// Learning-rate floor as a fraction of the starting rate (word2vec.c).
pub const MIN_ALPHA_FRACTION: f32 = 1e-4;

/// The corpus and how its vocabulary is built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorpusConfig {
    /// Corpus text file.
    pub input: PathBuf,
    /// Words occurring fewer times are dropped.
    pub min_count: u64,
    /// Keep at most this many most frequent words.
    pub max_vocab: Option<usize>,
    /// Directory of encoded-corpus caches.
    pub cache_dir: PathBuf,
    /// Words kept whatever their count: a word list or a `PROBES.tsv` (`--keep`).
    #[serde(default)]
    pub keep: Option<PathBuf>,
}

/// The hyperparameters: everything that decides what is learned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyperparams {
    /// Skip-gram or CBOW.
    pub model: Model,
    /// Vector dimension.
    pub dim: usize,
    /// Maximum window radius (shrunk at random per centre word to 1..=window).
    pub window: usize,
    /// Subsampling threshold t (0 disables).
    pub sample: f64,
    /// Starting learning rate.
    pub alpha: f32,
    /// Passes over the corpus.
    pub epochs: u32,
    /// Random seed; each thread derives its own stream from (seed, thread).
    pub seed: u64,
    /// Hierarchical softmax or negative sampling.
    pub loss: Loss,
    /// Negative samples per target (0 with `Loss::Hs`, at least 1 with `Loss::Ns`).
    pub negative: usize,
    /// Shape of the HS tree.
    pub tree: TreeShape,
    /// Longest code (path) allowed with `TreeShape::HuffmanCapped`; only with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_code_len: Option<u32>,
    /// Saturated nodes: skip or clamp.
    pub saturation: SaturationPolicy,
    /// K in the depth weight 1 + K * depth / max_depth of each inner node's step (0 = off).
    pub lr_depth_scale: f32,
    /// SGD or row-wise AdaGrad.
    pub optimizer: Optimizer,
    /// Largest norm of an input vector's step (None = no clipping).
    pub clip_grad: Option<f32>,
    /// Weight decay L: a touched row shrinks by (1 - alpha * L) at each step (0 = off).
    pub l2: f32,
    /// Initialisation preset of both matrices.
    pub init: Init,
    /// The input rows' initialisation, overriding the preset's input half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_init: Option<RowInit>,
    /// The output rows' initialisation, overriding the preset's output half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_init: Option<RowInit>,
    /// With several threads, each keeps private copies of this many most visited inner
    /// nodes and publishes their change every `replicate_every` words (0 = plain Hogwild).
    pub replicate_top: usize,
    /// Words between publishing the replicated nodes.
    pub replicate_every: u64,
}

/// How a run is executed and what it writes besides the model: threads, output files,
/// checkpoints and telemetry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunControl {
    /// Worker threads.
    pub threads: usize,
    /// Where the vectors go (the command line writes them; the library returns them).
    pub output: Option<PathBuf>,
    /// Output format.
    pub format: OutputFormat,
    /// Optional `word count` vocabulary output.
    pub save_vocab: Option<PathBuf>,
    /// Where checkpoints go [default: the output path with `.ckpt` appended].
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// Write a checkpoint every this many percent of the run (0 = only on a signal or at
    /// `stop_at`).
    #[serde(default)]
    pub checkpoint_every: f64,
    /// Write a checkpoint and stop once this percentage of the run is done.
    #[serde(default)]
    pub stop_at: Option<f64>,
    /// Continue the run saved in this checkpoint.
    #[serde(default)]
    pub resume: Option<PathBuf>,
    /// Gradient telemetry (off by default).
    #[serde(default)]
    pub stats: StatsConfig,
    /// Where to save the whole model as safetensors (`--save-model`).
    #[serde(default)]
    pub save_model: Option<PathBuf>,
}

/// All settings of a training run: corpus, hyperparameters and run control (serialised
/// flat, as one table of options).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The corpus and vocabulary settings.
    #[serde(flatten)]
    pub corpus: CorpusConfig,
    /// What is learned.
    #[serde(flatten)]
    pub params: Hyperparams,
    /// How the run is executed.
    #[serde(flatten)]
    pub run: RunControl,
}

/// Gradient telemetry settings: what to record and where (`docs/telemetry.md` describes the files).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsConfig {
    /// JSON Lines file of per-snapshot band x depth records (`--stats`).
    pub path: Option<PathBuf>,
    /// Snapshot interval in percent of training progress (`--stats-every`).
    pub every_pct: f64,
    /// Fraction of path walks whose magnitudes are recorded; counts are always exact
    /// (`--stats-sample`).
    pub sample: f64,
    /// Frequency bands are floor(log_base(count)) (`--stats-band-base`).
    pub band_base: u64,
    /// Per-word totals file, tab-separated (`--word-stats`).
    pub word_stats: Option<PathBuf>,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            path: None,
            every_pct: 1.0,
            sample: 1.0,
            band_base: 2,
            word_stats: None,
        }
    }
}

impl StatsConfig {
    /// True when any telemetry output was asked for.
    pub fn enabled(&self) -> bool {
        self.path.is_some() || self.word_stats.is_some()
    }

    /// Checks every value; the error names the option and the accepted range.
    pub fn validate(&self, cfg: &TrainConfig) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if !(self.every_pct >= 0.01 && self.every_pct <= 100.0) {
            return bad(format!(
                "--stats-every must be in 0.01..=100 (percent), got {}",
                self.every_pct
            ));
        }
        if !(self.sample > 0.0 && self.sample <= 1.0) {
            return bad(format!(
                "--stats-sample must be in (0, 1], got {}",
                self.sample
            ));
        }
        if !(2..=1_000_000).contains(&self.band_base) {
            return bad(format!(
                "--stats-band-base must be in 2..=1000000, got {}",
                self.band_base
            ));
        }
        let outputs = [("--stats", &self.path), ("--word-stats", &self.word_stats)];
        for (flag, p) in outputs {
            if let Some(p) = p {
                if Some(p) == cfg.run.output.as_ref()
                    || Some(p) == cfg.run.save_vocab.as_ref()
                    || *p == cfg.corpus.input
                {
                    return bad(format!(
                        "{flag} {} collides with another input or output file",
                        p.display()
                    ));
                }
            }
        }
        if self.path.is_some() && self.path == self.word_stats {
            return bad("--stats and --word-stats must be different files".into());
        }
        Ok(())
    }
}

impl TrainConfig {
    /// word2vec.c's defaults for `model`, training `input` into `output`.
    pub fn new(input: PathBuf, output: PathBuf, model: Model) -> Self {
        let mut c = Self::for_corpus(input, model);
        c.run.output = Some(output);
        c
    }

    /// word2vec.c's defaults for `model` on `input`, with no output file (the library's use).
    pub fn for_corpus(input: PathBuf, model: Model) -> Self {
        TrainConfig {
            corpus: CorpusConfig {
                input,
                min_count: 5,
                max_vocab: None,
                cache_dir: default_cache_dir(),
                keep: None,
            },
            params: Hyperparams::new(model),
            run: RunControl::default(),
        }
    }

    /// The checkpoint path: `checkpoint`, else the output path with `.ckpt` appended; `None`
    /// when there is neither.
    pub fn checkpoint_path(&self) -> Option<PathBuf> {
        self.run.checkpoint.clone().or_else(|| {
            self.run.output.as_ref().map(|o| {
                let mut p = o.clone().into_os_string();
                p.push(".ckpt");
                PathBuf::from(p)
            })
        })
    }

    /// Checks every value; the error names the option and the accepted range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.params.dim == 0 || self.params.dim > 10_000 {
            return bad(format!(
                "--dim must be in 1..=10000, got {}",
                self.params.dim
            ));
        }
        if self.params.window == 0 || self.params.window > 1000 {
            return bad(format!(
                "--window must be in 1..=1000, got {}",
                self.params.window
            ));
        }
        if self.corpus.min_count == 0 {
            return bad("--min-count must be at least 1".into());
        }
        if self.corpus.max_vocab == Some(0) {
            return bad("--max-vocab must be at least 2".into());
        }
        if !(self.params.sample >= 0.0 && self.params.sample.is_finite()) {
            return bad(format!("--sample must be >= 0, got {}", self.params.sample));
        }
        if !(self.params.alpha > 0.0 && self.params.alpha.is_finite()) {
            return bad(format!("--alpha must be > 0, got {}", self.params.alpha));
        }
        if self.params.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.params.replicate_every == 0 {
            return bad("--replicate-every must be at least 1".into());
        }
        if let Some(m) = &self.run.save_model {
            if Some(m) == self.run.output.as_ref()
                || *m == self.corpus.input
                || Some(m) == self.run.save_vocab.as_ref()
            {
                return bad(format!(
                    "--save-model {} collides with another input or output file",
                    m.display()
                ));
            }
        }
        if self.run.threads == 0 || self.run.threads > 1024 {
            return bad(format!(
                "--threads must be in 1..=1024, got {}",
                self.run.threads
            ));
        }
        self.validate_mitigations()
    }

    /// Checks the loss and step-rule options and refuses combinations that mean nothing.
    fn validate_mitigations(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        match self.params.loss {
            Loss::Hs if self.params.negative != 0 => {
                return bad(format!(
                    "--negative {} needs --loss ns: hierarchical softmax draws no negatives",
                    self.params.negative
                ))
            }
            Loss::Ns if self.params.negative == 0 || self.params.negative > 1000 => {
                return bad(format!(
                    "--loss ns needs --negative in 1..=1000, got {}",
                    self.params.negative
                ))
            }
            _ => {}
        }
        if self.params.loss == Loss::Ns && self.params.tree != TreeShape::Huffman {
            return bad("--tree shapes the hierarchical-softmax tree; it needs --loss hs".into());
        }
        match (self.params.tree, self.params.max_code_len) {
            (TreeShape::HuffmanCapped, None) => {
                return bad("--tree huffman-capped needs --max-code-len L".into())
            }
            (TreeShape::HuffmanCapped, Some(0)) => {
                return bad("--max-code-len must be at least 1".into())
            }
            (TreeShape::HuffmanCapped, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return bad("--max-code-len caps the codes of --tree huffman-capped only".into())
            }
        }
        if self.params.loss == Loss::Ns && self.params.lr_depth_scale != 0.0 {
            return bad("--lr-depth-scale scales tree nodes by depth; it needs --loss hs".into());
        }
        if !(self.params.lr_depth_scale > -1.0 && self.params.lr_depth_scale <= 1000.0) {
            return bad(format!(
                "--lr-depth-scale must be in (-1, 1000] so every node keeps a positive step, got {}",
                self.params.lr_depth_scale
            ));
        }
        if let Some(c) = self.params.clip_grad {
            if !(c > 0.0 && c.is_finite()) {
                return bad(format!("--clip-grad must be > 0, got {c}"));
            }
        }
        if !(self.params.l2 >= 0.0 && self.params.l2 * self.params.alpha < 1.0) {
            return bad(format!(
                "--l2 must be >= 0 with l2 * alpha < 1 (a decay factor in (0, 1]), got {}",
                self.params.l2
            ));
        }
        if !(0.0..=100.0).contains(&self.run.checkpoint_every) {
            return bad(format!(
                "--checkpoint-every must be a percentage in 0..=100, got {}",
                self.run.checkpoint_every
            ));
        }
        if let Some(p) = self.run.stop_at {
            if !(p > 0.0 && p < 100.0) {
                return bad(format!(
                    "--stop-at must be a percentage strictly between 0 and 100, got {p}"
                ));
            }
        }
        self.run.stats.validate(self)
    }

    /// True when every step-rule option is word2vec.c's for the chosen loss, so the
    /// trainer can run its plain SGD loop.
    pub fn is_plain_sgd(&self) -> bool {
        self.params.lr_depth_scale == 0.0
            && self.params.optimizer == Optimizer::Sgd
            && self.params.clip_grad.is_none()
            && self.params.l2 == 0.0
    }
}

impl Hyperparams {
    /// word2vec.c's hyperparameters for `model`.
    pub fn new(model: Model) -> Self {
        Hyperparams {
            model,
            dim: 100,
            window: 5,
            sample: 1e-3,
            alpha: default_alpha(model),
            epochs: 5,
            seed: 1,
            loss: Loss::Hs,
            negative: 0,
            tree: TreeShape::Huffman,
            max_code_len: None,
            saturation: SaturationPolicy::Skip,
            lr_depth_scale: 0.0,
            optimizer: Optimizer::Sgd,
            clip_grad: None,
            l2: 0.0,
            init: Init::Word2vec,
            input_init: None,
            output_init: None,
            replicate_top: DEFAULT_REPLICATE_TOP,
            replicate_every: DEFAULT_REPLICATE_EVERY,
        }
    }

    /// The (input, output) row initialisations: the preset's, with an explicit knob
    /// replacing its half.
    pub fn row_inits(&self) -> (RowInit, RowInit) {
        let (input, output) = self.init.rows();
        (
            self.input_init.unwrap_or(input),
            self.output_init.unwrap_or(output),
        )
    }
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl {
            threads: default_threads(),
            output: None,
            format: OutputFormat::Text,
            save_vocab: None,
            checkpoint: None,
            checkpoint_every: 0.0,
            stop_at: None,
            resume: None,
            stats: StatsConfig::default(),
            save_model: None,
        }
    }
}

/// The saturation policy word2vec.c uses with `loss`: skip for HS, clamp for NS.
pub fn default_saturation(loss: Loss) -> SaturationPolicy {
    match loss {
        Loss::Hs => SaturationPolicy::Skip,
        Loss::Ns => SaturationPolicy::Clamp,
    }
}

/// word2vec.c's number of negative samples (`-negative 5`).
pub const DEFAULT_NEGATIVE: usize = 5;

/// word2vec.c's starting learning rate for `model`.
pub fn default_alpha(model: Model) -> f32 {
    match model {
        Model::Skipgram => 0.025,
        Model::Cbow => 0.05,
    }
}

/// All available cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The `data/` directory of the source tree huffvec was built from (bundled corpus and
/// evaluation sets).
pub fn bundled_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The evaluation sets bundled with the source tree (analogy and word-similarity files).
pub fn bundled_eval_dir() -> Result<PathBuf> {
    let p = bundled_data().join("eval");
    if p.is_dir() {
        Ok(p)
    } else {
        Err(Error::Config(format!(
            "no evaluation sets given and the bundled ones ({}) are missing; pass --eval-dir DIR",
            p.display()
        )))
    }
}

/// `$HUFFVEC_CACHE`, else `$XDG_CACHE_HOME/huffvec`, else `~/.cache/huffvec`, else the
/// system temporary directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HUFFVEC_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("huffvec");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("huffvec");
    }
    std::env::temp_dir().join("huffvec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_word2vec_c() {
        let c = TrainConfig::new("a".into(), "b".into(), Model::Cbow);
        assert_eq!(
            (
                c.params.dim,
                c.params.window,
                c.corpus.min_count,
                c.params.epochs
            ),
            (100, 5, 5, 5)
        );
        assert_eq!(c.params.alpha, 0.05);
        assert!(c.validate().is_ok());
        assert_eq!(
            (
                c.params.loss,
                c.params.negative,
                c.params.tree,
                c.params.saturation,
                c.params.optimizer,
                c.params.init
            ),
            (
                Loss::Hs,
                0,
                TreeShape::Huffman,
                SaturationPolicy::Skip,
                Optimizer::Sgd,
                Init::Word2vec
            )
        );
        assert!(c.is_plain_sgd());
    }

    #[test]
    fn every_mitigation_alone_is_accepted() {
        let base = TrainConfig::new("a".into(), "b".into(), Model::Skipgram);
        let cases: Vec<fn(&mut TrainConfig)> = vec![
            |c| c.params.tree = TreeShape::Random,
            |c| c.params.tree = TreeShape::HuffmanKept,
            |c| {
                c.params.tree = TreeShape::HuffmanCapped;
                c.params.max_code_len = Some(12);
            },
            |c| c.params.saturation = SaturationPolicy::Clamp,
            |c| c.params.lr_depth_scale = 2.0,
            |c| c.params.lr_depth_scale = -0.5,
            |c| c.params.optimizer = Optimizer::Adagrad,
            |c| c.params.clip_grad = Some(0.1),
            |c| c.params.l2 = 1e-4,
            |c| c.params.init = Init::He,
            |c| c.params.input_init = Some(RowInit::Xavier),
            |c| c.params.output_init = Some(RowInit::He),
            |c| {
                c.params.loss = Loss::Ns;
                c.params.negative = 5;
            },
        ];
        for f in cases {
            let mut c = base.clone();
            f(&mut c);
            assert!(c.validate().is_ok(), "{c:?}");
        }
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let base = TrainConfig::new("a".into(), "b".into(), Model::Skipgram);
        let cases: Vec<fn(&mut TrainConfig)> = vec![
            |c| c.params.dim = 0,
            |c| c.params.window = 0,
            |c| c.corpus.min_count = 0,
            |c| c.params.sample = -1.0,
            |c| c.params.alpha = 0.0,
            |c| c.params.alpha = f32::NAN,
            |c| c.params.epochs = 0,
            |c| c.run.threads = 0,
            |c| c.params.negative = 5,
            |c| {
                c.params.loss = Loss::Ns;
                c.params.negative = 0;
            },
            |c| {
                c.params.loss = Loss::Ns;
                c.params.negative = 5;
                c.params.tree = TreeShape::Balanced;
            },
            |c| {
                c.params.loss = Loss::Ns;
                c.params.negative = 5;
                c.params.lr_depth_scale = 1.0;
            },
            |c| c.params.tree = TreeShape::HuffmanCapped,
            |c| {
                c.params.tree = TreeShape::HuffmanCapped;
                c.params.max_code_len = Some(0);
            },
            |c| c.params.max_code_len = Some(12),
            |c| {
                c.params.tree = TreeShape::HuffmanKept;
                c.params.max_code_len = Some(12);
            },
            |c| {
                c.params.loss = Loss::Ns;
                c.params.negative = 5;
                c.params.tree = TreeShape::HuffmanKept;
            },
            |c| c.params.lr_depth_scale = -1.0,
            |c| c.params.lr_depth_scale = f32::NAN,
            |c| c.params.clip_grad = Some(0.0),
            |c| c.params.clip_grad = Some(f32::INFINITY),
            |c| c.params.l2 = -0.1,
            |c| c.params.l2 = 40.0, // alpha 0.025 * 40 = 1: the decay would zero every row
            |c| c.params.l2 = f32::NAN,
            |c| c.run.checkpoint_every = -1.0,
            |c| c.run.checkpoint_every = f64::NAN,
            |c| c.run.stop_at = Some(100.0),
            |c| c.run.stop_at = Some(0.0),
            |c| c.run.stats.every_pct = 0.0,
            |c| c.run.stats.every_pct = 101.0,
            |c| c.run.stats.sample = 0.0,
            |c| c.run.stats.sample = 1.5,
            |c| c.run.stats.band_base = 1,
            |c| c.run.save_model = Some("b".into()),
            |c| c.run.stats.path = Some("b".into()),
            |c| c.run.stats.word_stats = Some("a".into()),
            |c| {
                c.run.stats.path = Some("s".into());
                c.run.stats.word_stats = Some("s".into());
            },
        ];
        for f in cases {
            let mut c = base.clone();
            f(&mut c);
            assert!(matches!(c.validate(), Err(Error::Config(_))), "{c:?}");
        }
    }

    #[test]
    fn new_knobs_leave_old_settings_as_they_were() {
        // Values serialise as before; the new ones are kebab-case.
        let names: Vec<String> = [
            TreeShape::Huffman,
            TreeShape::Balanced,
            TreeShape::Random,
            TreeShape::HuffmanCapped,
            TreeShape::HuffmanKept,
        ]
        .iter()
        .map(|t| serde_json::to_string(t).expect("serialises"))
        .collect();
        assert_eq!(
            names,
            [
                "\"huffman\"",
                "\"balanced\"",
                "\"random\"",
                "\"huffman-capped\"",
                "\"huffman-kept\""
            ]
        );
        // Default settings write no new key, and settings written before the knobs
        // existed (no such keys) still load, with the knobs off.
        let c = TrainConfig::new("a".into(), "b".into(), Model::Skipgram);
        let json = serde_json::to_value(&c).expect("serialises");
        for key in ["max_code_len", "input_init", "output_init"] {
            assert!(json.get(key).is_none(), "{key}");
        }
        let back: TrainConfig = serde_json::from_value(json).expect("old settings load");
        assert_eq!(back, c);
        let mut set = c.clone();
        set.params.tree = TreeShape::HuffmanCapped;
        set.params.max_code_len = Some(12);
        set.params.output_init = Some(RowInit::Zero);
        let json = serde_json::to_value(&set).expect("serialises");
        assert_eq!(
            (json["max_code_len"].as_u64(), json["output_init"].as_str()),
            (Some(12), Some("zero"))
        );
        assert_eq!(
            serde_json::from_value::<TrainConfig>(json).expect("loads"),
            set
        );
    }

    #[test]
    fn explicit_init_knobs_replace_their_half_of_the_preset() {
        let mut p = Hyperparams::new(Model::Skipgram);
        assert_eq!(p.row_inits(), (RowInit::Word2vec, RowInit::Zero));
        p.init = Init::Xavier;
        p.output_init = Some(RowInit::Zero);
        assert_eq!(p.row_inits(), (RowInit::Xavier, RowInit::Zero));
        p.init = Init::ZeroOut;
        p.output_init = None;
        p.input_init = Some(RowInit::He);
        assert_eq!(p.row_inits(), (RowInit::He, RowInit::Word2vec));
    }
}
