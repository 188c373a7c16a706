//! The `huffvec` command line: parse, run, print any error on one line, exit non-zero.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(huffvec::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            ExitCode::SUCCESS
        }
        Err(e @ huffvec::Error::Stopped { .. }) => {
            eprintln!("huffvec: {e}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("huffvec: error: {msg}");
            ExitCode::from(match e {
                huffvec::Error::Interrupted { .. } => cli::interrupted_status(),
                _ => 1,
            })
        }
    }
}
