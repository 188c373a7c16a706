//! The checkpoint reader on arbitrary bytes: never panics, never allocates beyond what the
//! file's length allows; whatever it accepts has consistent shapes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut ck) = huffvec::checkpoint::read_from(data, data.len() as u64, Path::new("f")) {
        assert_eq!(ck.input.rows() as u64, ck.header.input_rows);
        assert_eq!(ck.inner.rows() as u64, ck.header.inner_rows);
        assert_eq!(ck.header.workers.len(), ck.header.config.threads);
        assert!(ck.input.as_mut_slice().iter().all(|x| x.is_finite()));
    }
});
