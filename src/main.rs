//! The `huffvec` command line (see [`huffvec::cli::main`]).

fn main() -> std::process::ExitCode {
    huffvec::cli::main()
}
