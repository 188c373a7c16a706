//! The output side: how a target word is scored and how its parameters are stepped.
//!
//! [`OutputLoss`] is implemented by [`hs::HsLoss`] (the tree path) and [`ns::NsLoss`]
//! (negative sampling); the worker picks one before its loop, so each is monomorphised.

pub mod hs;
pub mod ns;
pub mod sigmoid;

pub use sigmoid::SigmoidTable;

use crate::kernel::Kernel;
use crate::optim::StepRule;
use crate::probe::Probe;
use crate::sampler::Rng;
use hs::NodeScratch;

/// Scores one target against one or more input rows and steps the output side.
pub trait OutputLoss: Sync {
    /// Trains `target` against the `inputs` rows and adds each input's step into the
    /// matching row of `errs` (word2vec.c's `neu1e`, scaled by `alpha`).
    #[allow(clippy::too_many_arguments)]
    fn train<K: Kernel, R: StepRule, P: Probe>(
        &self,
        k: K,
        target: u32,
        inputs: &[f32],
        errs: &mut [f32],
        alpha: f32,
        rule: &mut R,
        rng: &mut Rng,
        scratch: &mut NodeScratch,
        probe: &mut P,
    );

    /// Inner nodes on `target`'s path (0 for a loss that walks no tree).
    fn path_len(&self, target: u32) -> usize;
}
