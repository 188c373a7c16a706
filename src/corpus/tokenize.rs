//! Byte-level whitespace tokenizer: words are runs of non-whitespace bytes, `\n` ends a
//! sentence (word2vec.c's `</s>`).
//!
//! Rules, all byte-exact (invalid UTF-8 passes through untouched):
//! * Separators are the ASCII whitespace bytes space, `\t`, `\r`, `\x0b`, `\x0c` and `\n`.
//! * Every `\n` yields one [`Token::EndOfSentence`], also on empty lines.
//! * A word longer than [`MAX_WORD_BYTES`] bytes is cut to its first `MAX_WORD_BYTES` bytes
//!   (word2vec.c likewise truncates at its `MAX_STRING`); the rest of it is dropped.

/// The spelling of the end-of-sentence token in vocabularies and outputs.
pub use crate::vocab::{is_space, EOS, MAX_WORD_BYTES};

/// One token of the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token<'a> {
    /// A word, at most `MAX_WORD_BYTES` bytes.
    Word(&'a [u8]),
    /// A newline.
    EndOfSentence,
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// 0x80 in each byte of `x` that is a separator, 0 elsewhere (exact for every byte).
#[inline(always)]
fn separator_bytes(x: u64) -> u64 {
    let low7 = x & (ONES * 0x7f);
    // Bytes equal to b' ': zero bytes of x ^ 0x20.., found without carries between bytes.
    let y = x ^ (ONES * 0x20);
    let spaces = !(((y & (ONES * 0x7f)) + ONES * 0x7f) | y | (ONES * 0x7f));
    // Bytes in 9..=13 (\t \n \x0b \x0c \r) with the high bit clear.
    let controls = (ONES * (127 + 14)).wrapping_sub(low7) & !x & (low7 + ONES * (127 - 8));
    (spaces | controls) & (ONES * 0x80)
}

/// Index of the first separator at or after `i` (or `buf.len()`), 8 bytes at a time.
#[inline(always)]
fn word_end(buf: &[u8], mut i: usize) -> usize {
    while i + 8 <= buf.len() {
        let x = u64::from_le_bytes(buf[i..i + 8].try_into().expect("8 bytes"));
        let m = separator_bytes(x);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < buf.len() && !is_space(buf[i]) {
        i += 1;
    }
    i
}

/// Iterator over the tokens of a byte buffer.
pub struct Tokens<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Tokenizes `buf`.
pub fn tokens(buf: &[u8]) -> Tokens<'_> {
    Tokens { buf, pos: 0 }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    #[inline]
    fn next(&mut self) -> Option<Token<'a>> {
        let buf = self.buf;
        let mut i = self.pos;
        while i < buf.len() {
            let b = buf[i];
            if b == b'\n' {
                self.pos = i + 1;
                return Some(Token::EndOfSentence);
            }
            if !is_space(b) {
                break;
            }
            i += 1;
        }
        if i >= buf.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        i = word_end(buf, i);
        self.pos = i;
        let end = i.min(start + MAX_WORD_BYTES);
        Some(Token::Word(&buf[start..end]))
    }
}

/// Splits `buf` into about `n` pieces whose boundaries fall just after a separator byte, so
/// no word is cut; concatenating the pieces gives `buf` back.
pub fn split_at_spaces(buf: &[u8], n: usize) -> Vec<&[u8]> {
    let n = n.max(1);
    let mut pieces = Vec::with_capacity(n);
    let mut start = 0;
    for k in 1..n {
        let mut cut = (buf.len() as u128 * k as u128 / n as u128) as usize;
        if cut <= start {
            continue;
        }
        while cut < buf.len() && !is_space(buf[cut - 1]) {
            cut += 1;
        }
        if cut >= buf.len() {
            break;
        }
        pieces.push(&buf[start..cut]);
        start = cut;
    }
    pieces.push(&buf[start..]);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn toks(s: &[u8]) -> Vec<Token<'_>> {
        tokens(s).collect()
    }

    #[test]
    fn words_and_sentence_ends() {
        use Token::*;
        assert_eq!(
            toks(b"  the cat\tsat\r\n\nnew  line"),
            vec![
                Word(b"the"),
                Word(b"cat"),
                Word(b"sat"),
                EndOfSentence,
                EndOfSentence,
                Word(b"new"),
                Word(b"line")
            ]
        );
        assert!(toks(b"").is_empty());
        assert!(toks(b" \t ").is_empty());
    }

    #[test]
    fn separator_bytes_are_exactly_the_whitespace_bytes() {
        for b in 0..=255u8 {
            for other in [0u8, b'a', b' ', 0xff, 8, 14, 9] {
                let mut bytes = [other; 8];
                for at in 0..8 {
                    bytes[at] = b;
                    let m = separator_bytes(u64::from_le_bytes(bytes));
                    let want = bytes
                        .iter()
                        .enumerate()
                        .filter(|(_, &c)| is_space(c))
                        .fold(0u64, |acc, (k, _)| acc | 0x80 << (8 * k));
                    assert_eq!(m, want, "byte {b:#x} at {at} among {other:#x}");
                    bytes[at] = other;
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn word_end_finds_the_first_separator(
            buf in proptest::collection::vec(proptest::sample::select(
                vec![b'a', b' ', b'\n', b'\t', b'\r', 0x0b, 0x0c, 0x08, 0x0e, 0x20 ^ 0x80, 0xff, 0]), 0..40),
            from in 0usize..40,
        ) {
            let from = from.min(buf.len());
            let want = (from..buf.len()).find(|&k| is_space(buf[k])).unwrap_or(buf.len());
            proptest::prop_assert_eq!(word_end(&buf, from), want);
        }
    }

    #[test]
    fn invalid_utf8_is_kept_byte_for_byte() {
        assert_eq!(
            toks(b"a\xff\xfe b"),
            vec![Token::Word(b"a\xff\xfe"), Token::Word(b"b")]
        );
    }

    #[test]
    fn long_words_are_cut_to_max_bytes() {
        let long = vec![b'x'; 250];
        let mut text = long.clone();
        text.extend_from_slice(b" y");
        let t = toks(&text);
        assert_eq!(
            t,
            vec![Token::Word(&long[..MAX_WORD_BYTES]), Token::Word(b"y")]
        );
    }

    proptest! {
        #[test]
        fn splitting_never_cuts_words(text in "[ab \n]{0,200}", n in 1usize..9) {
            let bytes = text.as_bytes();
            let pieces = split_at_spaces(bytes, n);
            prop_assert_eq!(pieces.concat(), bytes.to_vec());
            let joined: Vec<Token> = pieces.iter().flat_map(|p| tokens(p)).collect();
            prop_assert_eq!(joined, toks(bytes));
        }
    }
}
