//! The `word count` vocabulary reader on arbitrary bytes: never panics, and what it
//! accepts, written back as `word count` lines, reads back the same.
#![no_main]

use std::path::Path;

use huffvec::support::Vocab;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = Vocab::read(data, Path::new("f")) {
        let mut again = Vec::new();
        for (w, c) in v.words().iter().zip(v.counts()) {
            again.extend_from_slice(w);
            again.extend_from_slice(format!(" {c}\n").as_bytes());
        }
        let back = Vocab::read(&again[..], Path::new("g")).expect("re-read what was accepted");
        assert_eq!(back.words(), v.words());
        assert_eq!(back.counts(), v.counts());
    }
});
