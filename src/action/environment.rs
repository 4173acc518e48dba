//! The variables the runner sets for a step, read once when the action starts.

use super::error::EventError;
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

    /// The event payload GitHub wrote for this run.
    pub(super) fn event_payload(&self) -> Result<serde_json::Value, EventError> {
        let path = self.event_path.as_ref().ok_or(EventError::PathNotSet)?;
        let bytes = std::fs::read(path).map_err(|source| EventError::Unreadable {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| EventError::NotJson {
            path: path.clone(),
            source,
        })
    }
}

/// The text at `pointer` (`/repository/default_branch`) in an event payload; `payload` names
/// the payload in the error (`push event payload`).
pub(super) fn payload_text<'p>(
    json: &'p serde_json::Value,
    pointer: &str,
    payload: &'static str,
) -> Result<&'p str, EventError> {
    json.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| EventError::MissingField {
            payload,
            field: pointer.trim_start_matches('/').replace('/', "."),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_payload_field_is_named_dotted() {
        let payload = serde_json::json!({"ref": "refs/heads/main", "repository": {}});
        assert_eq!(
            payload_text(&payload, "/ref", "push event payload").unwrap(),
            "refs/heads/main"
        );
        let missing = payload_text(&payload, "/repository/default_branch", "push event payload");
        assert_eq!(
            missing.unwrap_err().to_string(),
            "the push event payload has no `repository.default_branch`"
        );
    }

    #[test]
    fn empty_optional_variables_are_unset() {
        let variables: HashMap<String, String> = [
            ("GITHUB_REPOSITORY", ""),
            ("GITHUB_API_URL", ""),
            ("GITHUB_STEP_SUMMARY", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let environment = Environment::new(&variables);
        assert_eq!(environment.repository, None);
        assert_eq!(environment.api_url, DEFAULT_API_URL);
        assert_eq!(environment.step_summary, None);
        assert_eq!(environment.workspace, PathBuf::from("."));
        assert_eq!(environment.event_name, None);
    }
}
