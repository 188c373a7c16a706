//! word2vec text and binary vector files, words kept byte for byte, floats little-endian.

use std::io::{self, Write};

use byteorder::{LittleEndian, WriteBytesExt};

use crate::config::OutputFormat;

/// Writes `V dim` and one row per word: text (`word v1 .. vdim`, shortest round-trip
/// decimals) or binary (`word `, `dim` little-endian f32, `\n`), as word2vec.c, gensim and
/// fastText read them.
pub fn write<'a, W: Write>(
    w: &mut W,
    format: OutputFormat,
    dim: usize,
    rows: impl ExactSizeIterator<Item = (&'a [u8], &'a [f32])>,
) -> io::Result<()> {
    writeln!(w, "{} {}", rows.len(), dim)?;
    let mut buf = ryu::Buffer::new();
    for (word, v) in rows {
        debug_assert_eq!(v.len(), dim);
        w.write_all(word)?;
        match format {
            OutputFormat::Text => {
                for x in v {
                    w.write_all(b" ")?;
                    w.write_all(buf.format(*x).as_bytes())?;
                }
            }
            OutputFormat::Binary => {
                w.write_all(b" ")?;
                for x in v {
                    w.write_f32::<LittleEndian>(*x)?;
                }
            }
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_is_word2vec() {
        let mut out = Vec::new();
        let rows = vec![
            (&b"a"[..], &[1.5f32, -0.25][..]),
            (&b"\xffb"[..], &[0.0f32, 1e-7][..]),
        ];
        write(&mut out, OutputFormat::Text, 2, rows.into_iter()).unwrap();
        assert_eq!(out, b"2 2\na 1.5 -0.25\n\xffb 0.0 1e-7\n".to_vec());
    }

    #[test]
    fn binary_format_is_little_endian() {
        let mut out = Vec::new();
        let rows = vec![(&b"w"[..], &[1.0f32][..])];
        write(&mut out, OutputFormat::Binary, 1, rows.into_iter()).unwrap();
        assert_eq!(out, b"1 1\nw \x00\x00\x80\x3f\n".to_vec());
    }
}
