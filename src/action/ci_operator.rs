//! The ci-operator configs of the checkout, for `target-promoted`. openshift/release holds
//! about 10,000 of them: far too many to fetch through the contents API on every pull request,
//! so they are read from the workspace checkout. On a pull request that checkout is the pull
//! request's own content, so the folder must resolve inside the workspace and
//! [`crate::promoted::scan`] bounds what it reads.

use super::Settings;
use crate::github::console::Console;
use crate::promoted;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the ci-operator config folder cannot be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum FolderError {
    /// Only a folder the `ci_operator_config` input names must exist.
    #[error("ci_operator_config `{folder}` does not exist in the workspace `{}`", workspace.display())]
    Missing { folder: String, workspace: PathBuf },
    #[error("cannot read ci_operator_config `{folder}`: {source}")]
    Unreadable {
        folder: String,
        source: std::io::Error,
    },
    /// The checkout may come from a pull request, and a link it plants could point anywhere.
    #[error(
        "ci_operator_config `{folder}` resolves to `{}`, outside the workspace `{}`: refused, since a commit could point it anywhere",
        resolved.display(),
        workspace.display()
    )]
    OutsideWorkspace {
        folder: String,
        resolved: PathBuf,
        workspace: PathBuf,
    },
    #[error("ci_operator_config `{0}` is not a folder")]
    NotAFolder(String),
    #[error(transparent)]
    Scan(#[from] promoted::ScanError),
}

/// `settings` with the tags the workspace's ci-operator configs promote. A folder the
/// `ci_operator_config` input names must exist; without the input, a checkout with no
/// `ci-operator/config` beside the config is a note and `target-promoted` does not run.
pub(super) fn with_promoted_tags(
    settings: &Settings,
    workspace: &Path,
    console: &mut Console<'_>,
) -> Result<Settings, FolderError> {
    let folder = match &settings.ci_operator_config {
        Some(folder) => folder.clone(),
        None => promoted::folder_beside(Path::new(&settings.config_path))
            .to_string_lossy()
            .into_owned(),
    };
    let joined = workspace.join(&folder);
    if !joined.exists() {
        if settings.ci_operator_config.is_some() {
            return Err(FolderError::Missing {
                folder,
                workspace: workspace.to_path_buf(),
            });
        }
        // A plain log line: an annotation would be one more finding on every pull request.
        console.say(&format!(
            "qci-mirror: note: no `{folder}` in the workspace, so rule target-promoted was skipped (it compares keys with the tags ci-operator configs promote)"
        ));
        return Ok(settings.clone());
    }
    let resolved = inside_workspace(workspace, &joined, &folder)?;
    let scan = promoted::scan(&resolved, &folder)?;
    console.say(&format!("qci-mirror: {}", scan.note(&folder)));
    let mut settings = settings.clone();
    settings.options.promoted = Some(Arc::new(scan.promoted));
    Ok(settings)
}

/// `joined` with every link resolved, refused unless it is a folder inside the workspace: the
/// checkout may come from a pull request, and a link it plants could point anywhere.
fn inside_workspace(workspace: &Path, joined: &Path, folder: &str) -> Result<PathBuf, FolderError> {
    let cannot = |source: std::io::Error| FolderError::Unreadable {
        folder: folder.to_owned(),
        source,
    };
    let root = workspace.canonicalize().map_err(cannot)?;
    let resolved = joined.canonicalize().map_err(cannot)?;
    if !resolved.starts_with(&root) {
        return Err(FolderError::OutsideWorkspace {
            folder: folder.to_owned(),
            resolved,
            workspace: root,
        });
    }
    if !resolved.is_dir() {
        return Err(FolderError::NotAFolder(folder.to_owned()));
    }
    Ok(resolved)
}
