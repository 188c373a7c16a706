//! `SharedScalars`: one `f32` per matrix row, shared by all training threads without locks
//! (AdaGrad accumulators).
//!
//! Each value is an `AtomicU32` holding the float's bits, read and written with relaxed
//! loads and stores: the sound spelling of a plain racy access (on x86-64 and AArch64 both
//! compile to ordinary moves). An update is a load, arithmetic, then a store, *not* an
//! atomic read-modify-write, so two threads updating the same row at once may lose one
//! contribution: the same benign race as the Hogwild matrices (module docs), and for an
//! accumulator of squared gradients it only makes a few steps slightly larger.

use std::sync::atomic::{AtomicU32, Ordering};

/// A vector of `f32` shared by all threads, updated Hogwild-style.
pub struct SharedScalars {
    values: Box<[AtomicU32]>,
}

impl SharedScalars {
    /// `len` values, all `init`.
    pub fn filled(len: usize, init: f32) -> Self {
        SharedScalars {
            values: (0..len).map(|_| AtomicU32::new(init.to_bits())).collect(),
        }
    }

    /// The given values, in order.
    pub fn from_values(values: &[f32]) -> Self {
        SharedScalars {
            values: values.iter().map(|x| AtomicU32::new(x.to_bits())).collect(),
        }
    }

    #[cfg(test)]
    /// A copy of the values, in order.
    pub fn to_vec(&self) -> Vec<f32> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Value `i` (panics when out of range: an invariant of the caller).
    #[inline(always)]
    pub fn get(&self, i: usize) -> f32 {
        f32::from_bits(self.values[i].load(Ordering::Relaxed))
    }

    /// Overwrites value `i`.
    #[inline(always)]
    pub fn set(&self, i: usize, x: f32) {
        self.values[i].store(x.to_bits(), Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_bit_exactly() {
        let s = SharedScalars::filled(3, 0.25);
        assert_eq!((s.len(), s.get(2)), (3, 0.25));
        s.set(1, -1.5e-30);
        assert_eq!(s.get(1), -1.5e-30);
        assert_eq!(s.get(0), 0.25);
        let back = SharedScalars::from_values(&s.to_vec());
        assert_eq!(back.to_vec(), [0.25, -1.5e-30, 0.25]);
    }
}
