//! Talking to GitHub Actions: workflow commands (annotations), the job summary and step outputs.
//! Everything here is pure or writes to a path it is given, so tests behave like the runner.

pub mod api;
pub mod commands;
pub mod console;
pub mod outputs;
pub mod summary;

pub use crate::verdict::Finding;

/// An entry that will be mirrored once the pull request merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMirror {
    /// The config key, `namespace/name:tag`.
    pub key: String,
    /// The source pull spec (an imagestreamtag as its app.ci pull spec).
    pub source: String,
    /// The full target, e.g. `quay.io/openshift/ci:ci_boskos_latest`.
    pub target: String,
}

/// Everything one run of the action tells the user.
#[derive(Debug, Clone, Default)]
pub struct RunSummary<'a> {
    /// Every finding, most important first (blocking, then errors, then warnings).
    pub findings: Vec<Finding<'a>>,
    /// Entries added or changed by the pull request, in config order.
    pub planned: Vec<PlannedMirror>,
    /// Findings that were not shown as annotations because of the runner's cap.
    pub annotations_omitted: usize,
    /// Prefix for links to lines, built by the caller from the server URL, the repository and
    /// the head commit, ending in `/` (`https://github.com/o/r/blob/<sha>/`). Trusted: it is
    /// not escaped. `None`: locations are shown without links.
    pub blob_url: Option<String>,
}

/// 128 random bits in hex, for tokens that text from a pull request must not be able to guess
/// (heredoc delimiters, `stop-commands` tokens). `RandomState` is seeded from the OS; the time
/// and process id keep values apart even if that seeding were weak. No crate needed for this.
pub(crate) fn random_hex() -> String {
    use std::hash::BuildHasher;
    let random = std::collections::hash_map::RandomState::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let a = random.hash_one((nanos, std::process::id()));
    let b = random.hash_one((a, nanos));
    format!("{a:016x}{b:016x}")
}
