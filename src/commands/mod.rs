//! The commands: each maps its outcome to an exit code, and nothing below this layer does.
//! `cli` parses arguments and dispatches here; the action (`action::run`) is a command too.

mod failure;
pub mod migrate;
pub mod registry;
pub mod validate;

pub use failure::{Failure, NoConfig, RevisionError};

/// No errors (warnings allowed).
pub const EXIT_OK: u8 = 0;
/// Findings: at least one error, including content that is not a parseable config.
pub const EXIT_FINDINGS: u8 = 1;
/// Could not run: bad usage, or a file that could not be read. Distinct from findings so that a
/// broken pipeline never looks like a config problem, nor the other way round.
pub const EXIT_USAGE: u8 = 2;

/// Where images go and come from, for `validate`, `plan` and `mirror` alike (forks set their
/// own).
#[derive(Debug, clap::Args)]
pub struct Places {
    /// The repository images are mirrored into.
    #[arg(long, value_name = "REPO", default_value = crate::rules::DEFAULT_TARGET_REPOSITORY, value_parser = crate::qci::parse_repository)]
    target_repository: String,
    /// The registry that imagestreamtag sources are on, and that `qciToAppCIImages` entries
    /// are copied back into.
    #[arg(long, value_name = "HOST", default_value = crate::rules::DEFAULT_ISTAG_REGISTRY)]
    istag_registry: String,
    /// The host `qciToAppCIImages` pulls QCI through (default: quay-proxy.ci.openshift.org
    /// for the upstream QCI, else the target repository's own host).
    #[arg(long, value_name = "HOST")]
    qci_pull_registry: Option<String>,
}

impl Places {
    /// The rules' options for these places, without promoted tags.
    fn options(&self) -> crate::rules::Options {
        crate::rules::Options {
            target_repository: self.target_repository.clone(),
            istag_registry: self.istag_registry.clone(),
            qci_pull_registry: self.qci_pull_registry.clone(),
            promoted: None,
        }
    }
}
