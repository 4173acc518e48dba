//! The `qci-mirror` binary: everything lives in the library so tests can drive the whole CLI.

fn main() -> std::process::ExitCode {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let code = qci_mirror::cli::run(std::env::args_os(), &mut stdout, &mut stderr);
    std::process::ExitCode::from(code)
}
