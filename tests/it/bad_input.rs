//! Every bad input of issue 8 through the real binary: the exit status, a one-line message
//! saying what is wrong, and no output file created or damaged.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{is_root, run, synthetic_corpus, Scratch};

/// Builds a case's files in the scratch directory and returns the arguments.
type Setup = Box<dyn Fn(&Scratch) -> Vec<String>>;

/// What a case hands to huffvec: the arguments after `train`.
struct Case {
    name: &'static str,
    /// Builds the case's files in the scratch directory and returns the arguments.
    setup: Setup,
    /// Expected exit status.
    code: i32,
    /// Text the one-line message must contain.
    message: &'static str,
}

const OLD_OUTPUT: &[u8] = b"previous vectors, must survive\n";

fn good_corpus(w: &Scratch) -> String {
    w.write("corpus.txt", synthetic_corpus(3000, 50, 1));
    "corpus.txt".into()
}

fn args(input: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["--input", input, "--output", "out.txt", "--quiet"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// A good corpus with one out-of-range option.
fn option_case(name: &'static str, option: &'static [&'static str], message: &'static str) -> Case {
    Case {
        name,
        setup: Box::new(move |w| args(&good_corpus(w), option)),
        code: 1,
        message,
    }
}

fn case(name: &'static str, setup: fn(&Scratch) -> Vec<String>, message: &'static str) -> Case {
    Case {
        name,
        setup: Box::new(setup),
        code: 1,
        message,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "missing input",
            |_| args("no-such-corpus.txt", &[]),
            "input no-such-corpus.txt does not exist",
        ),
        case(
            "input is a directory",
            |w| {
                std::fs::create_dir(w.path("adir")).unwrap();
                args("adir", &[])
            },
            "is a directory, expected a text file",
        ),
        case(
            "input is a device, not a regular file",
            |_| args("/dev/zero", &[]),
            "is not a regular file",
        ),
        case(
            "input path runs through a file",
            |w| {
                good_corpus(w);
                args("corpus.txt/inner.txt", &[])
            },
            "does not exist",
        ),
        case(
            "empty corpus",
            |w| {
                w.write("empty.txt", b"");
                args("empty.txt", &[])
            },
            "contains no words (empty or whitespace only)",
        ),
        case(
            "whitespace-only corpus",
            |w| {
                w.write("blank.txt", b"  \n\t\r\n \x0b\x0c \n\n");
                args("blank.txt", &[])
            },
            "contains no words (empty or whitespace only)",
        ),
        case(
            "no word reaches --min-count",
            |w| {
                w.write(
                    "rare.txt",
                    b"every word here is unique\nnothing repeats at all\n",
                );
                args("rare.txt", &["--min-count", "2"])
            },
            "occur at least --min-count 2 times",
        ),
        case(
            "binary garbage",
            |w| {
                let mut b: Vec<u8> = (0..200_000u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect();
                b[70] = 0;
                w.write("garbage.bin", &b);
                args("garbage.bin", &[])
            },
            "looks like a binary file, not text (NUL byte at offset",
        ),
        case(
            "UTF-16 text",
            |w| {
                let t: Vec<u8> = "the cat sat on the mat\n"
                    .repeat(100)
                    .encode_utf16()
                    .flat_map(|u| u.to_le_bytes())
                    .collect();
                w.write("utf16.txt", &t);
                args("utf16.txt", &[])
            },
            "UTF-16 text must be converted to UTF-8",
        ),
        option_case(
            "dim 0",
            &["--dim", "0"],
            "--dim must be in 1..=10000, got 0",
        ),
        option_case(
            "window 0",
            &["--window", "0"],
            "--window must be in 1..=1000, got 0",
        ),
        option_case("alpha 0", &["--alpha", "0"], "--alpha must be > 0, got 0"),
        option_case(
            "alpha negative",
            &["--alpha=-0.5"],
            "--alpha must be > 0, got -0.5",
        ),
        option_case(
            "sample negative",
            &["--sample=-0.001"],
            "--sample must be >= 0, got -0.001",
        ),
        option_case(
            "epochs 0",
            &["--epochs", "0"],
            "--epochs must be at least 1",
        ),
        option_case(
            "threads 0",
            &["--threads", "0"],
            "--threads must be in 1..=1024, got 0",
        ),
        option_case(
            "min-count 0",
            &["--min-count", "0"],
            "--min-count must be at least 1",
        ),
        option_case(
            "checkpoint-every 150",
            &["--checkpoint-every", "150"],
            "--checkpoint-every must be a percentage in 0..=100",
        ),
        option_case(
            "stop-at 100",
            &["--stop-at", "100"],
            "--stop-at must be a percentage strictly between 0 and 100",
        ),
        case(
            "output in a missing directory",
            |w| {
                let mut a = args(&good_corpus(w), &[]);
                a[3] = "no/such/dir/out.txt".into();
                a
            },
            "output directory no/such/dir does not exist",
        ),
        case(
            "output directory is a file",
            |w| {
                let mut a = args(&good_corpus(w), &[]);
                a[3] = "out.txt/vectors.txt".into();
                a
            },
            "output directory out.txt is not a directory",
        ),
        case(
            "output is a directory",
            |w| {
                std::fs::create_dir(w.path("outdir")).unwrap();
                let mut a = args(&good_corpus(w), &[]);
                a[3] = "outdir".into();
                a
            },
            "output outdir is a directory",
        ),
        case(
            "output equal to the input",
            |w| {
                let mut a = args(&good_corpus(w), &[]);
                a[3] = "./corpus.txt".into();
                a
            },
            "is the same file as input corpus.txt",
        ),
        case(
            "checkpoint equal to the output",
            |w| args(&good_corpus(w), &["--checkpoint", "out.txt"]),
            "checkpoint path out.txt is the input or output file",
        ),
        case(
            "resume from a file that is not a checkpoint",
            |w| {
                good_corpus(w);
                vec!["--resume".into(), "corpus.txt".into(), "--quiet".into()]
            },
            "not a huffvec checkpoint (wrong magic bytes)",
        ),
        case(
            "resume from a missing checkpoint",
            |_| vec!["--resume".into(), "gone.ckpt".into()],
            "cannot open checkpoint gone.ckpt",
        ),
    ]
}

/// Runs one case in a fresh directory where `out.txt` already holds [`OLD_OUTPUT`], and
/// checks the status, the single line, and that the directory holds what it held before.
fn check(case: &Case) {
    let w = Scratch::new();
    let argv = (case.setup)(&w);
    let premade = !w.path("out.txt").exists();
    if premade {
        w.write("out.txt", OLD_OUTPUT);
    }
    let before = w.files();
    let o = run(w.command().arg("train").args(&argv));
    let stderr = &o.stderr;
    assert_eq!(o.code, Some(case.code), "{}: stderr: {stderr}", case.name);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{}: want one line, got: {stderr}",
        case.name
    );
    assert!(
        lines[0].starts_with("huffvec: error: ") && lines[0].contains(case.message),
        "{}: message {:?} lacks {:?}",
        case.name,
        lines[0],
        case.message
    );
    assert_eq!(w.files(), before, "{}: files created or removed", case.name);
    if premade {
        assert_eq!(
            std::fs::read(w.path("out.txt")).unwrap(),
            OLD_OUTPUT,
            "{}",
            case.name
        );
    }
}

#[test]
fn every_bad_input_gets_one_line_and_leaves_files_alone() {
    for case in cases() {
        check(&case);
    }
}

#[test]
fn unreadable_input_is_refused() {
    let w = Scratch::new();
    let p = w.write("secret.txt", synthetic_corpus(3000, 50, 1));
    let arg = if is_root() {
        // Root ignores permission bits, so chmod 000 cannot make a file unreadable here;
        // a path through /proc/self/root/proc/1/mem-like files is not portable either.
        // What root cannot open is a file under a component that is not a directory.
        println!("notice: running as root, permission bits do not apply; testing an unopenable path instead");
        "secret.txt/x".to_string()
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        "secret.txt".to_string()
    };
    let o = run(w.command().arg("train").args(args(&arg, &[])));
    let stderr = &o.stderr;
    assert_eq!(o.code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot read corpus") || stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(!w.path("out.txt").exists());
}

#[test]
fn read_only_output_directory_is_refused_before_training() {
    let w = Scratch::new();
    good_corpus(&w);
    let (out, dir): (PathBuf, Option<PathBuf>) = if is_root() {
        // Root may write into a mode-555 directory; /proc refuses new files even to root.
        println!("notice: running as root, using /proc as the read-only directory");
        ("/proc/huffvec-out.txt".into(), None)
    } else {
        use std::os::unix::fs::PermissionsExt;
        let d = w.path("ro");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o555)).unwrap();
        (d.join("out.txt"), Some(d))
    };
    let o = run(w
        .command()
        .args(["train", "--input", "corpus.txt", "--quiet", "--output"])
        .arg(&out));
    let stderr = &o.stderr;
    assert_eq!(o.code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot write to directory"), "{stderr}");
    assert!(!out.exists());
    if let Some(d) = dir {
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
    }
}

#[test]
fn output_that_is_a_pipe_is_refused() {
    let w = Scratch::new();
    good_corpus(&w);
    if !Command::new("mkfifo")
        .arg(w.path("fifo"))
        .status()
        .is_ok_and(|s| s.success())
    {
        crate::util::skip_unless_required("mkfifo is unavailable");
        return;
    }
    let mut a = args("corpus.txt", &[]);
    a[3] = "fifo".into();
    let o = run(w.command().arg("train").args(a));
    let stderr = &o.stderr;
    assert_eq!(o.code, Some(1), "{stderr}");
    assert!(
        stderr.contains("exists and is not a regular file"),
        "{stderr}"
    );
}

/// A tiny tmpfs mounted in a scratch directory, unmounted when dropped.
struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(at: PathBuf, size: &str) -> Option<Self> {
        std::fs::create_dir(&at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(TinyFs(at))
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_reported_and_the_previous_output_survives() {
    let w = Scratch::new();
    good_corpus(&w);
    let Some(fs) = TinyFs::mount(w.path("tiny"), "64k") else {
        crate::util::skip_unless_required("cannot mount a tmpfs (needs root)");
        return;
    };
    let out = fs.0.join("vectors.txt");
    std::fs::write(&out, OLD_OUTPUT).unwrap();
    let o = run(w
        .command()
        .args([
            "train",
            "--input",
            "corpus.txt",
            "--quiet",
            "--min-count",
            "1",
        ])
        .args(["--dim", "100", "--epochs", "1", "--output"])
        .arg(&out));
    let stderr = &o.stderr;
    assert_eq!(o.code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no space left on device (disk full)"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), OLD_OUTPUT);
    assert_eq!(
        std::fs::read_dir(&fs.0).unwrap().count(),
        1,
        "temporary file left behind"
    );
}

#[test]
fn divergence_stops_with_the_epoch_and_writes_nothing() {
    let w = Scratch::new();
    w.write("out.txt", OLD_OUTPUT);
    let o = run(w
        .command()
        .args(["train", "--output", "out.txt", "--quiet", "--alpha", "1000"])
        .args(["--threads", "1", "--epochs", "2", "--dim", "20", "--input"])
        .arg(crate::util::sample_corpus()));
    let stderr = &o.stderr;
    assert_eq!(o.code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("training diverged (NaN, infinite or beyond ±10000) in epoch 1 at"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(w.path("out.txt")).unwrap(), OLD_OUTPUT);
    assert_eq!(w.files(), vec!["out.txt".to_string()]);
}

#[test]
fn invalid_utf8_words_are_kept_byte_for_byte() {
    let w = Scratch::new();
    let mut text = Vec::new();
    for _ in 0..20 {
        text.extend_from_slice(b"caf\xe9 na\xefve \xff\xfe plain \xc3\x28 ok\n");
    }
    w.write("latin1.txt", &text);
    run(w
        .command()
        .arg("train")
        .args(args("latin1.txt", &["--min-count", "1", "--dim", "8"])))
    .ok();
    let out = std::fs::read(w.path("out.txt")).unwrap();
    for word in [&b"caf\xe9"[..], b"na\xefve", b"\xff\xfe", b"\xc3\x28"] {
        let mut line_start = b"\n".to_vec();
        line_start.extend_from_slice(word);
        line_start.push(b' ');
        assert!(
            out.windows(line_start.len()).any(|x| x == line_start),
            "{word:?} not written byte-exact"
        );
    }
}

#[test]
fn one_line_of_many_megabytes_is_trained_in_pieces() {
    // About 8 MB and 1.5M words without a single newline: the worker cuts it into
    // sentences of MAX_SENTENCE kept words (src/train/worker.rs).
    let w = Scratch::new();
    let mut text = synthetic_corpus(1_500_000, 3000, 5);
    for b in &mut text {
        if *b == b'\n' {
            *b = b' ';
        }
    }
    w.write("oneline.txt", &text);
    run(w.command().arg("train").args(args(
        "oneline.txt",
        &["--epochs", "1", "--dim", "16", "--threads", "2"],
    )))
    .ok();
    let out = std::fs::read(w.path("out.txt")).unwrap();
    let header = out.split(|&b| b == b'\n').next().unwrap();
    let words: usize = std::str::from_utf8(header)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(words > 1000, "only {words} words");
}
