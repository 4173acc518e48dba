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
