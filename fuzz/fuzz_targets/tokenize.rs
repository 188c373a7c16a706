//! The tokenizer on arbitrary bytes: never panics; words are non-empty, at most
//! MAX_WORD_BYTES, free of separators; splitting for parallel work changes nothing.
#![no_main]

use huffvec::support::{is_space, split_at_spaces, tokens, Token, MAX_WORD_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole: Vec<Token> = tokens(data).collect();
    let newlines = data.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        whole.iter().filter(|t| **t == Token::EndOfSentence).count(),
        newlines
    );
    for t in &whole {
        if let Token::Word(w) = t {
            assert!(!w.is_empty() && w.len() <= MAX_WORD_BYTES);
            assert!(!w.iter().any(|&b| is_space(b)));
        }
    }
    let n = data.first().map_or(1, |&b| 1 + b as usize % 16);
    let pieces = split_at_spaces(data, n);
    assert_eq!(pieces.concat(), data);
    let joined: Vec<Token> = pieces.iter().flat_map(|p| tokens(p)).collect();
    assert_eq!(joined, whole);
});
