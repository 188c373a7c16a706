//! The encoded-corpus cache reader on arbitrary bytes: never panics, whatever the header
//! claims about sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = huffvec::support::is_intact_cache(data);
});
