//! The output side: how a target word is scored and how its parameters are stepped.

pub mod hs;
pub mod sigmoid;

pub use sigmoid::SigmoidTable;
