//! Which entries a command works on: `--only` names and `--shard`, for `plan`, `mirror` and
//! the action's dispatch `targets`.

use crate::entries::PlannedEntry;
use crate::qci::render_qci_tag;
use crate::shard::Shard;
use std::path::Path;

/// Which entries a command works on.
#[derive(Debug, clap::Args)]
pub struct Selection {
    /// Only this target (a key like `ci/tool:v1`, its QCI tag or the full reference).
    /// Repeatable.
    #[arg(long, value_name = "TARGET")]
    only: Vec<String>,
    /// Only the targets of shard `i` of `n` (1-based), for a CI matrix: every target belongs to
    /// exactly one shard.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
}

impl Selection {
    /// The entries named by `only` (all when empty) within `shard` (all when `None`).
    pub fn new(only: Vec<String>, shard: Option<Shard>) -> Self {
        Selection { only, shard }
    }

    /// Whether `entry` is selected.
    pub fn contains(&self, entry: &PlannedEntry) -> bool {
        self.shard.is_none_or(|shard| shard.contains(&entry.target))
            && (self.only.is_empty() || self.only.iter().any(|only| names(only, entry)))
    }

    /// The names that name none of `entries`: a typo would otherwise select nothing and look
    /// like a run with nothing to do.
    pub fn unknown_names<'s>(&'s self, entries: &[PlannedEntry]) -> Vec<&'s str> {
        self.only
            .iter()
            .filter(|name| !entries.iter().any(|entry| names(name, entry)))
            .map(String::as_str)
            .collect()
    }

    /// An error naming the values of `given_as` (`--only`, or the action's `targets`) that name
    /// no entry of `config_path`.
    pub fn check_names(
        &self,
        entries: &[PlannedEntry],
        config_path: &Path,
        given_as: &'static str,
    ) -> Result<(), UnknownNames> {
        let unknown = self.unknown_names(entries);
        if unknown.is_empty() {
            return Ok(());
        }
        Err(UnknownNames {
            given_as,
            config: config_path.to_owned(),
            names: unknown.iter().map(|n| crate::diag::printable(n)).collect(),
        })
    }
}

/// Whether `name` (a config key, a QCI tag or a full target reference) names `entry`.
pub fn names(name: &str, entry: &PlannedEntry) -> bool {
    name == entry.key || name == render_qci_tag(&entry.key) || name == entry.target
}

/// Names that name no entry: a typo would otherwise select nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{given_as} names no entry of `{}`: {} (a key like ci/tool:v1, its QCI tag ci_tool_v1, or the full target reference)",
    config.display(),
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
)]
pub struct UnknownNames {
    given_as: &'static str,
    config: std::path::PathBuf,
    names: Vec<String>,
}
