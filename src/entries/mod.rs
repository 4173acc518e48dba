//! The config as entries, the unit every command works on. [`Layout`] says which lines (and
//! so which findings) belong to which entry, for pull-request verdicts, `validate
//! --changed-since` and the diff alike; [`resolve`] turns the entries into source and target
//! references with a state, for `plan`, `mirror`, the action and the network check.

pub mod diff;
mod layout;
mod resolve;

pub use layout::{FirstErrors, Layout, Unit};
pub(crate) use resolve::{Lookups, resolve};
pub use resolve::{PlannedEntry, State, StateKind};

use crate::config::model;
use serde::Serialize;

/// Which way an entry copies; `section` in JSON, named as the config names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Section {
    /// `supplementalCIImages`: an image from anywhere into QCI.
    #[serde(rename = "supplementalCIImages")]
    Supplemental,
    /// `qciToAppCIImages`: a QCI image copied back to app.ci, the emergency backfill.
    #[serde(rename = "qciToAppCIImages")]
    QciToAppCi,
}

impl Section {
    /// The config's name for it.
    pub const fn name(self) -> &'static str {
        match self {
            Section::Supplemental => model::SUPPLEMENTAL_CI_IMAGES,
            Section::QciToAppCi => model::QCI_TO_APP_CI_IMAGES,
        }
    }
}
