//! The word2vec text-row parser on arbitrary bytes: never panics, never allocates beyond
//! what the file's length allows; what it accepts has consistent shapes, and written back
//! as text it is detected as text and reads back bit for bit.
#![no_main]

use std::path::Path;

use huffvec::OutputFormat;
use huffvec::support::word2vec::{parse, parse_as, write};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = parse_as(Path::new("f"), data, OutputFormat::Text) else {
        return;
    };
    assert_eq!(v.format, OutputFormat::Text);
    assert_eq!(v.data.len(), v.words.len() * v.dim);
    assert!(v.data.iter().all(|x| x.is_finite()));
    for w in &v.words {
        assert!(!w.is_empty());
        assert!(!w.iter().any(|b| matches!(b, b' ' | b'\t' | b'\n')));
    }
    let mut again = Vec::new();
    let rows = v.words.iter().map(|w| &w[..]).zip(v.data.chunks(v.dim.max(1)));
    write(&mut again, OutputFormat::Text, v.dim, rows).expect("write to memory");
    let back = parse(Path::new("g"), &again).expect("re-read what was accepted");
    assert_eq!(back.format, OutputFormat::Text);
    assert_eq!(back.words, v.words);
    let bits = |d: &[f32]| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.data), bits(&v.data));
});
