//! qci-mirror: validate (and, later, mirror) OpenShift CI's QCI image-mirroring config.
//!
//! Data flow: bytes → [`source::SourceFile`] → [`config::load`] (lenient model with positions)
//! → [`rules::check`] (diagnostics) → [`report`] (human or JSON) → exit code in [`cli`].
#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod action;
pub mod cli;
pub mod config;
pub mod diag;
pub mod github;
pub mod mapping;
pub mod mirror;
pub mod network_check;
pub mod plan;
pub mod qci;
pub mod reference;
pub mod registry;
pub mod remote;
pub mod report;
pub mod rules;
pub mod shard;
pub mod source;
pub mod validate;
pub mod yaml11;

/// The runtime every command and the action run their async work on: one thread, since the
/// work is network-bound and the CI machines have two cores.
pub(crate) fn current_thread_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}
