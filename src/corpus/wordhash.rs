//! Hashing and comparing short byte-string words, inlined for the counting pass: most words
//! fit in one or two 8-byte loads, where the generic slice hash and `memcmp` cost a call.

/// Loads up to 8 bytes of `b` from `at` as a little-endian `u64`, zero-padded.
#[inline(always)]
fn load(b: &[u8], at: usize) -> u64 {
    let rest = &b[at..];
    if rest.len() >= 8 {
        u64::from_le_bytes(rest[..8].try_into().expect("8 bytes"))
    } else {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        u64::from_le_bytes(buf)
    }
}

/// A 64-bit hash of `word` whose high and low bits are both well mixed (hashbrown uses
/// both).
#[inline(always)]
pub fn hash(word: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (word.len() as u64).wrapping_mul(K);
    let mut at = 0;
    loop {
        h = (h ^ load(word, at)).wrapping_mul(K).rotate_left(29);
        at += 8;
        if at >= word.len() {
            break;
        }
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 29)
}

/// Byte equality of two words, compared 8 bytes at a time.
#[inline(always)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut at = 0;
    while at < a.len() {
        if load(a, at) != load(b, at) {
            return false;
        }
        at += 8;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn same_is_byte_equality(a in proptest::collection::vec(0u8..4, 0..20),
                                 b in proptest::collection::vec(0u8..4, 0..20)) {
            proptest::prop_assert_eq!(same(&a, &b), a == b);
            proptest::prop_assert!(same(&a, &a.clone()));
            if a == b {
                proptest::prop_assert_eq!(hash(&a), hash(&b));
            }
        }
    }

    #[test]
    fn trailing_zero_bytes_change_the_hash() {
        assert_ne!(hash(b"a"), hash(b"a\0"));
        assert_ne!(hash(b""), hash(b"\0"));
        assert_ne!(hash(b"abcdefgh"), hash(b"abcdefgh\0"));
    }
}
