//! The word2vec binary-row parser on arbitrary bytes: never panics, never allocates beyond
//! what the file's length allows, whatever the header claims; what it accepts has
//! consistent shapes and, written back as binary, reads back bit for bit.
#![no_main]

use std::path::Path;

use huffvec::OutputFormat;
use huffvec::support::word2vec::{parse_as, write};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = parse_as(Path::new("f"), data, OutputFormat::Binary) else {
        return;
    };
    assert_eq!(v.format, OutputFormat::Binary);
    assert_eq!(v.data.len(), v.words.len() * v.dim);
    assert!(v.data.iter().all(|x| x.is_finite()));
    for w in &v.words {
        assert!(!w.is_empty() && w[0] != b'\n');
        assert!(!w.contains(&b' '));
    }
    let mut again = Vec::new();
    let rows = v.words.iter().map(|w| &w[..]).zip(v.data.chunks(v.dim.max(1)));
    write(&mut again, OutputFormat::Binary, v.dim, rows).expect("write to memory");
    let back = parse_as(Path::new("g"), &again, OutputFormat::Binary)
        .expect("re-read what was accepted");
    assert_eq!(back.words, v.words);
    let bits = |d: &[f32]| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.data), bits(&v.data));
});
