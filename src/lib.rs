//! qci-mirror: validates OpenShift CI's QCI image-mirroring config and mirrors what it asks for.
//!
//! Data flow: bytes → [`source::SourceFile`] → [`config::load`] (lenient model with positions)
//! → [`rules::check`] (diagnostics) → [`entries`] (which entry each finding belongs to) →
//! [`plan`] and [`mirror`] (registries) → [`report`] and [`github`] (what users see) → an exit
//! code in [`commands`] or [`action`], the only places that pick one.
#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod action;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diag;
pub mod entries;
pub mod generate;
pub mod github;
pub mod log;
pub mod mapping;
pub mod mirror;
pub mod network_check;
pub mod plan;
pub mod promoted;
pub mod qci;
pub mod reference;
pub mod registry;
pub mod report;
pub mod rules;
pub mod selection;
pub mod settings;
pub mod shard;
pub mod source;
pub mod tasks;
pub mod validate;
pub mod verdict;
pub mod yaml11;

/// Installs ring as the process's TLS crypto provider, once; every registry client is built
/// after it, and so must any other reqwest client in the process. reqwest and oci-client are compiled without a provider of their own, so a single
/// one (ring, which octocrab uses too) is built into the binary instead of ring and aws-lc.
pub fn install_tls_provider() {
    // An error only means a provider is already installed: by an earlier call.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The runtime every command and the action run their async work on: one thread, since the
/// work is network-bound and the CI machines have two cores.
pub(crate) fn current_thread_runtime() -> Result<tokio::runtime::Runtime, RuntimeError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RuntimeError)
}

/// The async runtime could not start (the system refused a thread or a timer).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}")]
pub struct RuntimeError(std::io::Error);
