//! word2vec text and binary vector files, words kept byte for byte, floats little-endian.
//!
//! Writing is [`write`](fn@write); reading is [`read`], which detects text or binary from
//! the first row and turns every malformation (bad header, wrong number of values, a
//! non-number, a truncated binary row) into an [`Error::Format`] naming the line or byte
//! offset.

use std::io::{self, Write};
use std::path::Path;

use byteorder::{LittleEndian, WriteBytesExt};
use rayon::prelude::*;

use crate::config::OutputFormat;
use crate::error::{Error, Result};

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

/// Vectors read from a word2vec file, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Vectors {
    /// The words, byte for byte, in file order.
    pub words: Vec<Box<[u8]>>,
    /// Vector dimension.
    pub dim: usize,
    /// `words.len() * dim` values, row-major.
    pub data: Vec<f32>,
    /// The format the file was detected to be in.
    pub format: OutputFormat,
}

impl Vectors {
    /// Writes the vectors to `path` in `format`, atomically (see [`super::OutputSlot`]).
    pub fn save(&self, path: &Path, format: OutputFormat) -> Result<()> {
        let rows = self
            .words
            .iter()
            .zip(self.data.chunks_exact(self.dim.max(1)))
            .map(|(w, v)| (&w[..], v));
        super::OutputSlot::reserve(path, &[])?.commit(|w| write(w, format, self.dim, rows))
    }
}

/// Reads a word2vec text or binary file, detecting the format from its first row.
pub fn read(path: &Path) -> Result<Vectors> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read vectors", path, e))?;
    parse(path, &bytes)
}

/// Parses the bytes of a word2vec file; `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vectors> {
    let (rows, dim, body_start) = parse_header(path, bytes)?;
    let format = detect(&bytes[body_start..], dim);
    parse_body(path, bytes, rows, dim, body_start, format)
}

/// Parses the bytes of a word2vec file known to be in `format`, without detection.
pub fn parse_as(path: &Path, bytes: &[u8], format: OutputFormat) -> Result<Vectors> {
    let (rows, dim, body_start) = parse_header(path, bytes)?;
    parse_body(path, bytes, rows, dim, body_start, format)
}

/// Parses the rows after the header, which ends at `body_start`.
fn parse_body(
    path: &Path,
    bytes: &[u8],
    rows: usize,
    dim: usize,
    body_start: usize,
    format: OutputFormat,
) -> Result<Vectors> {
    let body = &bytes[body_start..];
    match format {
        OutputFormat::Text => parse_text(path, body, rows, dim),
        OutputFormat::Binary => parse_binary(path, body, body_start, rows, dim),
    }
}

/// Guesses the format of the rows after the header line from the first row.
///
/// A text row is `word` then `dim` decimals on one line: after the word, at least
/// `2 * dim - 1` bytes of printable ASCII before the newline. A binary row carries `4 * dim`
/// raw float bytes, which are printable ASCII that long only by a vanishing chance, so
/// anything else is binary. An empty body is text (there is nothing to read either way).
pub fn detect(body: &[u8], dim: usize) -> OutputFormat {
    let start = body.iter().position(|b| *b != b'\n').unwrap_or(body.len());
    let first = body[start..].split(|b| *b == b'\n').next().unwrap_or(&[]);
    let Some(space) = first.iter().position(|b| *b == b' ' || *b == b'\t') else {
        // No separator at all: not a binary row either; the text parser says what is wrong.
        return OutputFormat::Text;
    };
    let values = &first[space + 1..];
    let printable = values
        .iter()
        .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\r'));
    if printable && values.len() + 1 >= dim.saturating_mul(2) {
        OutputFormat::Text
    } else {
        OutputFormat::Binary
    }
}

/// A short, printable rendering of file bytes for error messages.
fn shown(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out: String = s.chars().take(40).flat_map(char::escape_default).collect();
    if s.chars().count() > 40 {
        out.push_str("...");
    }
    out
}

/// Reads the `WORDS DIM` line; returns both numbers and the offset of the first row.
fn parse_header(path: &Path, bytes: &[u8]) -> Result<(usize, usize, usize)> {
    if bytes.is_empty() {
        return Err(Error::at_line(
            path,
            1,
            "empty file: expected a 'WORDS DIM' header",
        ));
    }
    let end = bytes.iter().position(|b| *b == b'\n').ok_or_else(|| {
        Error::at_line(
            path,
            1,
            "no newline after the 'WORDS DIM' header (truncated?)",
        )
    })?;
    let line = &bytes[..end];
    let bad = || {
        Error::at_line(
            path,
            1,
            format!(
                "expected a header 'WORDS DIM' (two non-negative integers), found '{}'",
                shown(line)
            ),
        )
    };
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    let mut fields = text.split_ascii_whitespace();
    let (Some(rows), Some(dim), None) = (fields.next(), fields.next(), fields.next()) else {
        return Err(bad());
    };
    let rows: usize = rows.parse().map_err(|_| bad())?;
    let dim: usize = dim.parse().map_err(|_| bad())?;
    if dim == 0 {
        return Err(Error::at_line(path, 1, "header gives dimension 0"));
    }
    Ok((rows, dim, end + 1))
}

/// Parses one text row into `out`; the error is the reason only.
fn parse_text_row(line: &[u8], out: &mut [f32]) -> std::result::Result<Box<[u8]>, String> {
    let line = line.trim_ascii_end();
    let space = line
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .ok_or_else(|| {
            format!(
                "expected a word and {} values, found '{}'",
                out.len(),
                shown(line)
            )
        })?;
    if space == 0 {
        return Err("row starts with a space: the word is empty".into());
    }
    let values = std::str::from_utf8(&line[space + 1..])
        .map_err(|_| "values are not ASCII text (binary data in a text file?)".to_string())?;
    let mut n = 0;
    for tok in values.split_ascii_whitespace() {
        n += 1;
        if n > out.len() {
            continue;
        }
        let v: f32 = tok
            .parse()
            .map_err(|_| format!("value {n} '{}' is not a number", shown(tok.as_bytes())))?;
        if !v.is_finite() {
            return Err(format!("value {n} '{tok}' is not finite"));
        }
        out[n - 1] = v;
    }
    if n != out.len() {
        return Err(format!(
            "expected {} values after the word, found {n}",
            out.len()
        ));
    }
    Ok(line[..space].into())
}

fn parse_text(path: &Path, body: &[u8], rows: usize, dim: usize) -> Result<Vectors> {
    let mut lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    while lines.last().is_some_and(|l| l.trim_ascii().is_empty()) {
        lines.pop();
    }
    // Line numbers are 1-based and the header is line 1, so row i is on line i + 2.
    if lines.len() < rows {
        return Err(Error::at_line(
            path,
            lines.len() + 2,
            format!(
                "file ends after {} of the {rows} rows the header announces (truncated?)",
                lines.len()
            ),
        ));
    }
    if lines.len() > rows {
        return Err(Error::at_line(
            path,
            rows + 2,
            format!("more rows than the {rows} the header announces"),
        ));
    }
    // Each value takes at least two bytes (a digit and a separator), so a header whose
    // dimension the file cannot hold is refused at the first row too short for it, before
    // anything is allocated.
    if !matches!(rows.checked_mul(dim), Some(n) if n <= body.len()) {
        if let Some((i, line)) = lines
            .iter()
            .enumerate()
            .find(|(_, l)| l.len() < dim.saturating_mul(2))
        {
            let values = line
                .split(u8::is_ascii_whitespace)
                .filter(|t| !t.is_empty())
                .count();
            return Err(Error::at_line(
                path,
                i + 2,
                format!(
                    "expected {dim} values after the word, found {}",
                    values.saturating_sub(1)
                ),
            ));
        }
    }
    let mut data = vec![0.0f32; rows * dim];
    let mut words: Vec<Box<[u8]>> = vec![Box::default(); rows];
    let first_error = data
        .par_chunks_mut(dim)
        .zip(words.par_iter_mut())
        .zip(lines.par_iter())
        .enumerate()
        .filter_map(|(i, ((out, word), line))| match parse_text_row(line, out) {
            Ok(w) => {
                *word = w;
                None
            }
            Err(reason) => Some((i, reason)),
        })
        .min_by_key(|(i, _)| *i);
    if let Some((i, reason)) = first_error {
        return Err(Error::at_line(path, i + 2, reason));
    }
    Ok(Vectors {
        words,
        dim,
        data,
        format: OutputFormat::Text,
    })
}

fn parse_binary(
    path: &Path,
    body: &[u8],
    body_start: usize,
    rows: usize,
    dim: usize,
) -> Result<Vectors> {
    let at = |pos: usize, reason: String| Error::at_byte(path, (body_start + pos) as u64, reason);
    let row_bytes = dim.saturating_mul(4);
    // Never trust the header for the allocation: a row takes at least 2 + 4*dim bytes.
    let fit = rows.min(body.len() / row_bytes.saturating_add(2));
    let mut data = Vec::with_capacity(fit * dim);
    let mut words = Vec::with_capacity(fit);
    let mut pos = 0;
    for r in 0..rows {
        // Rows end with '\n' in word2vec.c's output; other writers omit it.
        while body.get(pos) == Some(&b'\n') {
            pos += 1;
        }
        if pos == body.len() {
            return Err(at(
                pos,
                format!("file ends after {r} of the {rows} rows the header announces (truncated?)"),
            ));
        }
        let space = body[pos..].iter().position(|b| *b == b' ').ok_or_else(|| {
            at(
                pos,
                format!("row {}: word without a vector (truncated?)", r + 1),
            )
        })?;
        if space == 0 {
            return Err(at(pos, format!("row {}: the word is empty", r + 1)));
        }
        let word = &body[pos..pos + space];
        let start = pos + space + 1;
        let floats = body
            .get(start..start.saturating_add(row_bytes))
            .ok_or_else(|| {
                at(
                    start,
                    format!(
                    "row {} ('{}') is truncated: expected {row_bytes} bytes of floats, found {}",
                    r + 1,
                    shown(word),
                    body.len() - start
                ),
                )
            })?;
        for (j, b) in floats.chunks_exact(4).enumerate() {
            let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if !v.is_finite() {
                return Err(at(
                    start + 4 * j,
                    format!(
                        "row {} ('{}'): value {} is not finite",
                        r + 1,
                        shown(word),
                        j + 1
                    ),
                ));
            }
            data.push(v);
        }
        words.push(word.into());
        pos = start + row_bytes;
    }
    if let Some(extra) = body[pos..].iter().position(|b| !b.is_ascii_whitespace()) {
        return Err(at(
            pos + extra,
            format!("data after the {rows} rows the header announces"),
        ));
    }
    Ok(Vectors {
        words,
        dim,
        data,
        format: OutputFormat::Binary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(bytes: &[u8]) -> String {
        parse(Path::new("v.txt"), bytes).unwrap_err().to_string()
    }

    #[test]
    fn text_and_binary_round_trip_and_are_detected() {
        let rows = vec![
            (&b"the"[..], &[0.5f32, -1.25, 3e-7][..]),
            (&b"\xffb"[..], &[0.0f32, 1e10, -0.1][..]),
        ];
        for format in [OutputFormat::Text, OutputFormat::Binary] {
            let mut out = Vec::new();
            write(&mut out, format, 3, rows.clone().into_iter()).expect("test setup");
            let v = parse(Path::new("v"), &out).expect("test setup");
            assert_eq!(v.format, format);
            assert_eq!(v.dim, 3);
            assert_eq!(
                v.words,
                [b"the".as_slice().into(), b"\xffb".as_slice().into()]
            );
            assert_eq!(v.data, [0.5, -1.25, 3e-7, 0.0, 1e10, -0.1]);
        }
    }

    #[test]
    fn text_rows_may_end_with_spaces_and_files_with_blank_lines() {
        // word2vec.c writes a space after the last value.
        let v = parse(Path::new("v"), b"2 2\r\na 1 2 \r\nb -1 0.5\n\n\n").expect("test setup");
        assert_eq!(v.data, [1.0, 2.0, -1.0, 0.5]);
        let v = parse(Path::new("v"), b"0 7\n").expect("test setup");
        assert!(v.words.is_empty());
    }

    #[test]
    fn binary_rows_without_newlines_are_read() {
        let mut b = b"2 1\na ".to_vec();
        b.extend_from_slice(&1.5f32.to_le_bytes());
        b.extend_from_slice(b"b ");
        b.extend_from_slice(&(-2.0f32).to_le_bytes());
        let v = parse(Path::new("v"), &b).expect("test setup");
        assert_eq!(v.format, OutputFormat::Binary);
        assert_eq!(v.data, [1.5, -2.0]);
    }

    #[test]
    fn parse_as_reads_the_given_format_without_detection() {
        // Floats whose bytes are all printable ASCII make a binary row look like text.
        let b = b"1 2\nw AAAABBBB\n";
        assert_eq!(detect(&b[4..], 2), OutputFormat::Text);
        assert_eq!(
            parse_err(b),
            "v.txt: line 2: value 1 'AAAABBBB' is not a number"
        );
        let v = parse_as(Path::new("v"), b, OutputFormat::Binary).expect("test setup");
        assert_eq!(v.format, OutputFormat::Binary);
        assert_eq!(
            v.data,
            [f32::from_le_bytes(*b"AAAA"), f32::from_le_bytes(*b"BBBB")]
        );
        let text = parse_as(
            Path::new("v.txt"),
            b"1 1\nw \x00\x00\x80\x3f\n",
            OutputFormat::Text,
        );
        assert!(text.is_err());
    }

    #[test]
    fn bad_headers_are_named() {
        assert_eq!(
            parse_err(b""),
            "v.txt: line 1: empty file: expected a 'WORDS DIM' header"
        );
        assert_eq!(
            parse_err(b"10 abc\n"),
            "v.txt: line 1: expected a header 'WORDS DIM' (two non-negative integers), found '10 abc'"
        );
        assert!(parse_err(b"10\n").contains("line 1: expected a header"));
        assert!(parse_err(b"1 2 3\n").contains("line 1: expected a header"));
        assert_eq!(
            parse_err(b"1 0\na\n"),
            "v.txt: line 1: header gives dimension 0"
        );
        assert!(parse_err(b"1 2").contains("line 1: no newline"));
    }

    #[test]
    fn bad_text_rows_are_named_by_line() {
        assert_eq!(
            parse_err(b"3 3\na 1 2 3\nb 1 2 3\nc 1 2\n"),
            "v.txt: line 4: expected 3 values after the word, found 2"
        );
        assert_eq!(
            parse_err(b"2 3\na 1 2 3\nb 1 2 3 4\n"),
            "v.txt: line 3: expected 3 values after the word, found 4"
        );
        assert_eq!(
            parse_err(b"1 3\na 1.0 x2 3\n"),
            "v.txt: line 2: value 2 'x2' is not a number"
        );
        assert_eq!(
            parse_err(b"1 3\na 1 nan 3\n"),
            "v.txt: line 2: value 2 'nan' is not finite"
        );
        assert_eq!(
            parse_err(b"3 2\na 1 2\nb 3 4\n"),
            "v.txt: line 4: file ends after 2 of the 3 rows the header announces (truncated?)"
        );
        assert_eq!(
            parse_err(b"1 2\na 1 2\nb 3 4\n"),
            "v.txt: line 3: more rows than the 1 the header announces"
        );
        // The first error in file order is reported, although rows are parsed in parallel.
        let mut many = b"5000 2\n".to_vec();
        for i in 0..5000 {
            many.extend_from_slice(if i == 3000 || i == 4000 {
                b"w 1\n"
            } else {
                b"w 1 2\n"
            });
        }
        assert_eq!(
            parse_err(&many),
            "v.txt: line 3002: expected 2 values after the word, found 1"
        );
    }

    #[test]
    fn absurd_dimensions_are_refused_without_allocating() {
        // A first row far too short for the header's dimension reads as binary, truncated.
        assert_eq!(
            parse_err(b"1 1000000000000\na 1\n"),
            "v.txt: byte 18: row 1 ('a') is truncated: expected 4000000000000 bytes of floats, found 2"
        );
        for text in [
            format!("1 {}\na 1\n", usize::MAX),
            format!("1 {}\na 1\n", usize::MAX / 2),
        ] {
            assert!(
                parse_err(text.as_bytes()).contains("is truncated"),
                "{text}"
            );
        }
        // A text file whose later rows cannot hold rows x dim values is refused at the first
        // short row before the matrix is allocated.
        assert_eq!(
            parse_err(b"5 10\na 0 1 2 3 4 5 6 7 8 9\nb 1\nc 1\nd 1\ne 1\n"),
            "v.txt: line 3: expected 10 values after the word, found 1"
        );
    }

    #[test]
    fn truncated_binary_files_are_named_by_byte_offset() {
        let mut full = Vec::new();
        let rows = vec![
            (&b"a"[..], &[0.5f32, 1.0, 2.0, 4.0][..]),
            (&b"bb"[..], &[1.0f32; 4][..]),
        ];
        write(&mut full, OutputFormat::Binary, 4, rows.into_iter()).expect("test setup");
        // "2 4\n" is 4 bytes, row 1 "a " + 16 + "\n" is 19, row 2's floats start at
        // 4 + 19 + 3 = 26.
        assert_eq!(
            parse_err(&full[..full.len() - 5]),
            "v.txt: byte 26: row 2 ('bb') is truncated: expected 16 bytes of floats, found 12"
        );
        assert_eq!(
            parse_err(&full[..25]),
            "v.txt: byte 23: row 2: word without a vector (truncated?)"
        );
        assert_eq!(
            parse_err(&full[..23]),
            "v.txt: byte 23: file ends after 1 of the 2 rows the header announces (truncated?)"
        );
        let mut extra = full.clone();
        extra.extend_from_slice(b"junk");
        // The file is 26 + 16 + "\n" = 43 bytes long, so "junk" starts at byte 43.
        assert_eq!(
            parse_err(&extra),
            "v.txt: byte 43: data after the 2 rows the header announces"
        );
    }

    #[test]
    fn text_format_is_word2vec() {
        let mut out = Vec::new();
        let rows = vec![
            (&b"a"[..], &[1.5f32, -0.25][..]),
            (&b"\xffb"[..], &[0.0f32, 1e-7][..]),
        ];
        write(&mut out, OutputFormat::Text, 2, rows.into_iter()).expect("test setup");
        assert_eq!(out, b"2 2\na 1.5 -0.25\n\xffb 0.0 1e-7\n".to_vec());
    }

    #[test]
    fn binary_format_is_little_endian() {
        let mut out = Vec::new();
        let rows = vec![(&b"w"[..], &[1.0f32][..])];
        write(&mut out, OutputFormat::Binary, 1, rows.into_iter()).expect("test setup");
        assert_eq!(out, b"1 1\nw \x00\x00\x80\x3f\n".to_vec());
    }
}
