//! The variables the runner sets for a step, read once when the action starts.

use std::collections::HashMap;
use std::path::PathBuf;

/// Where GitHub's API is when `GITHUB_API_URL` does not say (github.com).
const DEFAULT_API_URL: &str = "https://api.github.com";
/// Where GitHub's pages are when `GITHUB_SERVER_URL` does not say (github.com).
const DEFAULT_SERVER_URL: &str = "https://github.com";

/// The runner's description of the run: the event, the checkout, the repository and the files
/// the step reports into. Not `Debug`: the variables hold secrets.
pub struct Environment {
    /// `GITHUB_EVENT_NAME`; `None` outside GitHub Actions.
    pub event_name: Option<String>,
    /// `GITHUB_WORKSPACE`, the checkout; `.` when unset.
    pub workspace: PathBuf,
    /// `GITHUB_EVENT_PATH`, the event's JSON payload.
    pub event_path: Option<PathBuf>,
    /// `GITHUB_REPOSITORY` (`owner/name`); without it GitHub's API is not used.
    pub repository: Option<String>,
    /// `GITHUB_API_URL`.
    pub api_url: String,
    /// `GITHUB_SERVER_URL`, for links to files.
    pub server_url: String,
    /// `GITHUB_SHA`, the commit the runner checked out.
    pub sha: Option<String>,
    /// `GITHUB_STEP_SUMMARY`, the job summary file.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_OUTPUT`, the step outputs file.
    pub output: Option<PathBuf>,
    /// `PATH`, searched for git. The action's own `PATH`, not the process's, so that what
    /// decides is exactly what the action was given.
    pub search_path: Option<String>,
    /// Every variable as given. The registry credentials are read from them by
    /// [`crate::settings`], which the CLI commands share and which takes the variables
    /// themselves; the `QCI_*` inputs are read from them by name too.
    pub variables: HashMap<String, String>,
}

impl Environment {
    /// Reads the runner's variables out of `variables` (the process environment in
    /// production).
    pub fn new(variables: &HashMap<String, String>) -> Self {
        let given = |name: &str| variables.get(name).cloned();
        // Optional variables count as unset when empty. The runner always sets the workspace,
        // the event path and the server URL, so those are taken as given.
        let non_empty = |name: &str| given(name).filter(|value| !value.is_empty());
        Environment {
            event_name: non_empty("GITHUB_EVENT_NAME"),
            workspace: PathBuf::from(given("GITHUB_WORKSPACE").unwrap_or_else(|| ".".to_owned())),
            event_path: given("GITHUB_EVENT_PATH").map(PathBuf::from),
            repository: non_empty("GITHUB_REPOSITORY"),
            api_url: non_empty("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned()),
            server_url: given("GITHUB_SERVER_URL").unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned()),
            sha: non_empty("GITHUB_SHA"),
            step_summary: non_empty("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: non_empty("GITHUB_OUTPUT").map(PathBuf::from),
            search_path: given("PATH"),
            variables: variables.clone(),
        }
    }
}
