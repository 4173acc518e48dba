//! The `qci-mirror` binary: everything lives in the library so tests can drive the whole CLI.

fn main() -> std::process::ExitCode {
    qci_mirror::log::init(|name| std::env::var(name).ok());
    // Unlocked handles, locked per write: the debug log writes to stderr from wherever an
    // event happens, and must never wait for a lock held for the whole run.
    let code = qci_mirror::cli::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::ExitCode::from(code)
}
