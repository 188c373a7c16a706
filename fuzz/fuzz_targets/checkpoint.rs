//! The checkpoint reader on arbitrary bytes: never panics, never allocates beyond what the
//! file's length allows; whatever it accepts has consistent shapes, AdaGrad accumulators
//! included.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut ck) = huffvec::checkpoint::read_from(data, data.len() as u64, Path::new("f")) {
        assert_eq!(ck.input.rows() as u64, ck.header.input_rows);
        assert_eq!(ck.inner.rows() as u64, ck.header.inner_rows);
        assert_eq!(ck.header.workers.len(), ck.header.config.threads);
        assert!(ck.input.as_mut_slice().iter().all(|x| x.is_finite()));
        assert_eq!(ck.accumulators.is_some(), ck.header.adagrad);
        if let Some(a) = &ck.accumulators {
            assert_eq!(a.input.len() as u64, ck.header.input_rows);
            assert_eq!(a.inner.len() as u64, ck.header.inner_rows);
            assert!(a.input.iter().chain(&a.inner).all(|x| *x >= 0.0));
        }
    }
});
