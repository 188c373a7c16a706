//! Files out: atomic replacement (temporary file in the same directory, fsync, rename) and
//! the output checks made before any long work starts.

pub mod word2vec;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A reserved output: the temporary file exists already, so a missing or read-only
/// directory fails before training, and the final path changes only on [`commit`].
///
/// [`commit`]: OutputSlot::commit
pub struct OutputSlot {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl OutputSlot {
    /// Reserves `path`, refusing a directory, a missing or unwritable parent, and any of
    /// `inputs` (the same file under another name included).
    pub fn reserve(path: &Path, inputs: &[&Path]) -> Result<Self> {
        if path.is_dir() {
            return Err(Error::Config(format!(
                "output {} is a directory; give a file name",
                path.display()
            )));
        }
        if path.exists() && !path.is_file() {
            return Err(Error::Config(format!(
                "output {} exists and is not a regular file (a device or pipe would be \
                 replaced); give a file name",
                path.display()
            )));
        }
        let dir = parent_dir(path);
        if dir.exists() && !dir.is_dir() {
            return Err(Error::Config(format!(
                "output directory {} is not a directory",
                dir.display()
            )));
        }
        if !dir.is_dir() {
            return Err(Error::Config(format!(
                "output directory {} does not exist; create it first",
                dir.display()
            )));
        }
        if let Ok(out) = std::fs::canonicalize(path) {
            for input in inputs {
                if std::fs::canonicalize(input).is_ok_and(|i| i == out) {
                    return Err(Error::Config(format!(
                        "output {} is the same file as input {}; choose another output path",
                        path.display(),
                        input.display()
                    )));
                }
            }
        }
        let tmp = tempfile::Builder::new()
            .prefix(".huffvec-")
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot write to directory", dir, e))?;
        Ok(OutputSlot {
            tmp,
            path: path.into(),
        })
    }

    /// Writes the content with `f`, syncs it and renames it over the final path.
    pub fn commit(
        self,
        f: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
    ) -> Result<()> {
        let OutputSlot { tmp, path } = self;
        let werr = |e| Error::io("cannot write", &path, e);
        {
            let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
            f(&mut w).map_err(werr)?;
            w.flush().map_err(werr)?;
        }
        // The temporary file is created 0600; give the output the mode of the file it
        // replaces, or rw-r--r-- for a new one.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map_or(0o644, |m| m.permissions().mode());
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
                .map_err(werr)?;
        }
        tmp.as_file().sync_all().map_err(werr)?;
        tmp.persist(&path)
            .map_err(|e| Error::io("cannot rename output to", &path, e.error))?;
        Ok(())
    }
}

/// Writes `path` atomically with `f`.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
) -> Result<()> {
    OutputSlot::reserve(path, &[])?.commit(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_failure_leaves_old_file() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("out.txt");
        std::fs::write(&p, b"old").expect("test setup");
        let r = write_atomic(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).expect("test setup"), b"old");
        write_atomic(&p, |w| w.write_all(b"new")).expect("test setup");
        assert_eq!(std::fs::read(&p).expect("test setup"), b"new");
        let leftovers = std::fs::read_dir(dir.path()).expect("test setup").count();
        assert_eq!(leftovers, 1, "temporary files must not be left behind");
    }

    #[test]
    fn refuses_missing_directory_and_input_as_output() {
        let dir = tempfile::tempdir().expect("test setup");
        assert!(OutputSlot::reserve(&dir.path().join("no/such/x.txt"), &[]).is_err());
        let input = dir.path().join("in.txt");
        std::fs::write(&input, b"x").expect("test setup");
        let e = OutputSlot::reserve(&input, &[&input])
            .err()
            .expect("test setup");
        assert!(e.to_string().contains("same file"));
        assert!(OutputSlot::reserve(dir.path(), &[]).is_err());
    }
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that only hashes what it is given (SHA-256).
#[derive(Default)]
pub struct HashWriter(sha2::Sha256);

impl HashWriter {
    /// The SHA-256 of everything written, in hexadecimal.
    pub fn hex_digest(self) -> String {
        use sha2::Digest;
        hex(&self.0.finalize())
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// SHA-256 of the file at `path`, in hexadecimal.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut h = HashWriter::default();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io("cannot read", path, e))?;
    Ok(h.hex_digest())
}
