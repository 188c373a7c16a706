//! The `--stats` reader on arbitrary bytes (cut-short lines, gaps, foreign records
//! included): never panics; whatever it accepts summarises without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    huffvec::support::stats::read_and_check(data);
});
