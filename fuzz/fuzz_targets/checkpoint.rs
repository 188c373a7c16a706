//! The checkpoint reader on arbitrary bytes: never panics, never allocates beyond what the
//! file's length allows; whatever it accepts has consistent shapes, AdaGrad accumulators
//! included.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    huffvec::support::checkpoint::read_and_check(data);
});
