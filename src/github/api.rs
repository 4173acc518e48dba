//! The few GitHub REST calls the action makes, through octocrab: file contents at a commit and
//! check runs. The base URL comes from `GITHUB_API_URL`, so GitHub Enterprise works, and tests
//! point it at a mock server.

use super::commands::Annotation;
use super::commands::Level;
use octocrab::Octocrab;
use octocrab::params::checks::{
    CheckRunConclusion, CheckRunOutput, CheckRunOutputAnnotation, CheckRunOutputAnnotationLevel,
    CheckRunStatus,
};
use octocrab::service::middleware::retry::RetryConfig;
use std::time::Duration;

/// One request to GitHub ends within this many idle timeouts, answered or not.
pub const REQUEST_IDLE_TIMEOUTS: u32 = 4;

/// The Checks API takes at most 50 annotations per request; later updates append.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

/// What went wrong talking to GitHub. Never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 403: the token may not do this (fork pull requests get a read-only token).
    #[error("GitHub refused the request (403): {0}")]
    Forbidden(String),
    /// Any other failure, with GitHub's message or the transport error.
    #[error("GitHub API request failed: {0}")]
    Failed(String),
}

impl From<octocrab::Error> for ApiError {
    fn from(error: octocrab::Error) -> Self {
        match &error {
            octocrab::Error::GitHub { source, .. } if source.status_code.as_u16() == 403 => {
                ApiError::Forbidden(crate::diag::excerpt(&source.message))
            }
            octocrab::Error::GitHub { source, .. } => ApiError::Failed(format!(
                "{} ({})",
                crate::diag::excerpt(&source.message),
                source.status_code
            )),
            // octocrab's `Display` is only the variant name; the chain says what happened.
            other => ApiError::Failed(error_chain(other)),
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A client for one repository.
pub struct Repository {
    /// For reads: a failure GitHub may recover from (5xx, a dropped connection) is retried.
    client: Octocrab,
    /// For writes, which are never repeated blindly: a check run created twice is two check
    /// runs.
    writer: Octocrab,
    owner: String,
    name: String,
    /// The whole time one request may take.
    deadline: Duration,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Repository({}/{})", self.owner, self.name)
    }
}

impl Repository {
    /// A client for `owner/name` (`GITHUB_REPOSITORY`) at `api_url` (`GITHUB_API_URL`). No
    /// request waits longer than `idle_timeout` for a connection or its next bytes, nor longer
    /// than [`REQUEST_IDLE_TIMEOUTS`] of them in all.
    pub fn new(
        api_url: &str,
        token: &str,
        full_name: &str,
        idle_timeout: Duration,
    ) -> Result<Self, ApiError> {
        let (owner, name) = full_name
            .split_once('/')
            .ok_or_else(|| ApiError::Failed(format!("`{full_name}` is not `owner/name`")))?;
        let client = |retry: RetryConfig| -> Result<Octocrab, ApiError> {
            let mut builder = Octocrab::builder()
                .base_uri(api_url)?
                .add_retry_config(retry)
                .set_connect_timeout(Some(idle_timeout))
                .set_read_timeout(Some(idle_timeout))
                .set_write_timeout(Some(idle_timeout));
            if !token.is_empty() {
                builder = builder.personal_token(token.to_owned());
            }
            Ok(builder.build()?)
        };
        Ok(Repository {
            client: client(RetryConfig::Simple(2))?,
            writer: client(RetryConfig::None)?,
            owner: owner.to_owned(),
            name: name.to_owned(),
            deadline: idle_timeout * REQUEST_IDLE_TIMEOUTS,
        })
    }

    /// `request`, or an error saying GitHub did not answer in time.
    async fn within<T>(
        &self,
        what: &str,
        request: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(self.deadline, request)
            .await
            .unwrap_or_else(|_| {
                Err(ApiError::Failed(format!(
                    "GitHub did not answer {what} within {} s",
                    self.deadline.as_secs()
                )))
            });
        let ms = started.elapsed().as_millis();
        match &answer {
            Ok(_) => tracing::debug!("GitHub answered {what} in {ms} ms"),
            Err(error) => tracing::debug!("GitHub failed {what} after {ms} ms: {error}"),
        }
        answer
    }

    /// The bytes of `path` at commit `sha`; `None` when the commit has no such file. At most
    /// `limit` bytes are read: a larger file is an error, never a cut one.
    ///
    /// Asks for the raw media type: the JSON form leaves `content` empty (`encoding: none`) for
    /// files over 1 MB, which would read as an empty file, and would have to be base64-decoded.
    /// Each path segment is percent-encoded, so a name with `#`, `?`, `%` or a space names that
    /// file and no other.
    pub async fn file_at(
        &self,
        path: &str,
        sha: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let what = format!("for `{path}` at {sha}");
        self.within(&what, self.read_file_at(path, sha, limit))
            .await
    }

    async fn read_file_at(
        &self,
        path: &str,
        sha: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        use http_body_util::BodyExt;
        let route = format!(
            "/repos/{}/{}/contents/{}?ref={}",
            self.owner,
            self.name,
            encode_path(path),
            encode_segment(sha)
        );
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/vnd.github.raw"),
        );
        let response = self.client._get_with_headers(route, Some(headers)).await?;
        if response.status() == http::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = octocrab::map_github_error(response).await?;
        // A folder is answered with its JSON listing whatever the media type asked for.
        let is_json = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|t| t.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        if is_json {
            return Err(ApiError::Failed(format!("`{path}` at {sha} is not a file")));
        }
        let body = http_body_util::Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    ApiError::Failed(format!("`{path}` at {sha} is larger than {limit} bytes"))
                } else {
                    ApiError::Failed(format!("reading `{path}` at {sha}: {e}"))
                }
            })?;
        Ok(Some(body.to_bytes().to_vec()))
    }

    /// Every file pull request `number` changes (GitHub lists at most 3,000), 100 per page.
    pub async fn pull_request_files(&self, number: u64) -> Result<Vec<ChangedFile>, ApiError> {
        let route = format!("/repos/{}/{}/pulls/{number}/files", self.owner, self.name);
        let what = format!("with the files of pull request #{number}");
        let files = self
            .within(&what, async {
                let first: octocrab::Page<PullRequestFile> =
                    self.client.get(route, Some(&[("per_page", "100")])).await?;
                Ok(self.client.all_pages(first).await?)
            })
            .await?;
        Ok(files.into_iter().map(ChangedFile::from).collect())
    }

    /// The files that differ between two commits (the compare API, for a merge group, which has
    /// no pull request number). GitHub lists at most 300 files here; a longer list is an error
    /// rather than a silent partial check.
    pub async fn compared_files(
        &self,
        base: &str,
        head: &str,
    ) -> Result<Vec<ChangedFile>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Comparison {
            #[serde(default)]
            files: Vec<PullRequestFile>,
        }
        let route = format!(
            "/repos/{}/{}/compare/{base}...{head}",
            self.owner, self.name
        );
        let comparison: Comparison = self
            .within(
                &format!("with the comparison of {base} and {head}"),
                async { Ok(self.client.get(route, None::<&()>).await?) },
            )
            .await?;
        if comparison.files.len() >= COMPARE_FILES_LISTED {
            return Err(ApiError::Failed(format!(
                "GitHub lists only the first {COMPARE_FILES_LISTED} files that differ between {base} and {head}, so the mapping files cannot all be found"
            )));
        }
        Ok(comparison
            .files
            .into_iter()
            .map(ChangedFile::from)
            .collect())
    }

    /// Publishes a completed check run on `head_sha` with `annotations`, in batches of
    /// [`ANNOTATIONS_PER_REQUEST`]: the first with the creation, the rest as appending updates.
    /// Every field is clamped to GitHub's limits first. Writes are never retried: a creation
    /// that failed after GitHub stored it would otherwise leave two check runs.
    pub async fn publish_check_run(
        &self,
        run: &CheckRun<'_>,
        annotations: &[Annotation],
    ) -> Result<u64, PublishError> {
        let checks = self.writer.checks(&self.owner, &self.name);
        let mut batches = annotations.chunks(ANNOTATIONS_PER_REQUEST);
        let conclusion = if run.success {
            CheckRunConclusion::Success
        } else {
            CheckRunConclusion::Failure
        };
        let created = self
            .within("to the check run's creation", async {
                Ok(checks
                    .create_check_run(clamp(run.name, TITLE_CHARS, usize::MAX), run.head_sha)
                    .status(CheckRunStatus::Completed)
                    .conclusion(conclusion)
                    .output(run.output(batches.next().unwrap_or_default()))
                    .send()
                    .await?)
            })
            .await
            .map_err(|error| match error {
                ApiError::Forbidden(_) => PublishError::NotAllowed,
                error => PublishError::NotCreated(error),
            })?;
        let mut sent = annotations.len().min(ANNOTATIONS_PER_REQUEST);
        for batch in batches {
            let updated = self
                .within("to a check run update", async {
                    Ok(checks
                        .update_check_run(created.id)
                        .output(run.output(batch))
                        .send()
                        .await?)
                })
                .await;
            if let Err(error) = updated {
                return Err(PublishError::Partial {
                    sent,
                    total: annotations.len(),
                    error,
                });
            }
            sent += batch.len();
        }
        Ok(created.id.into_inner())
    }
}

/// Why a check run was not published whole.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The token may not create check runs (a fork's pull request gets a read-only token).
    #[error("the token may not create check runs")]
    NotAllowed,
    /// The creation failed.
    #[error("the check run could not be created: {0}")]
    NotCreated(ApiError),
    /// The check run exists, without the annotations after the first `sent`.
    #[error("the check run holds only {sent} of its {total} annotations: {error}")]
    Partial {
        /// Annotations GitHub took.
        sent: usize,
        /// Annotations there were.
        total: usize,
        /// What stopped the rest.
        error: ApiError,
    },
}

/// The longest check run name and annotation title GitHub takes, in characters.
const TITLE_CHARS: usize = 255;
/// The longest annotation message GitHub takes, in bytes (64 KiB).
const MESSAGE_BYTES: usize = 64 * 1024;
/// The longest output summary and text GitHub takes, in characters.
const SUMMARY_CHARS: usize = 65_535;

/// `text` cut to at most `max_chars` characters and `max_bytes` bytes, ending in an ellipsis
/// when it was cut.
fn clamp(text: &str, max_chars: usize, max_bytes: usize) -> String {
    if text.len() <= max_bytes && text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut end = 0;
    for (count, (index, c)) in text.char_indices().enumerate() {
        let next = index + c.len_utf8();
        if count + 1 >= max_chars || next + '…'.len_utf8() > max_bytes {
            break;
        }
        end = next;
    }
    format!("{}…", &text[..end])
}

/// Characters left as they are in a path segment: RFC 3986's unreserved ones.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// A repository path in a URL: each segment encoded, the slashes between them kept.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// A file a pull request changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedFile {
    /// Its path at the head.
    pub path: String,
    /// Its path at the base, when the pull request renames or copies it.
    pub previous: Option<String>,
    /// Whether the pull request deletes it.
    pub removed: bool,
}

/// The fields of a pull request file the action reads; octocrab's `DiffEntry` demands many more.
#[derive(serde::Deserialize)]
struct PullRequestFile {
    filename: String,
    status: String,
    previous_filename: Option<String>,
}

impl From<PullRequestFile> for ChangedFile {
    fn from(file: PullRequestFile) -> Self {
        ChangedFile {
            removed: file.status == "removed",
            // Only a rename reads the old path; a copy leaves the original in place.
            previous: file.previous_filename.filter(|_| file.status == "renamed"),
            path: file.filename,
        }
    }
}

/// The compare API lists at most this many files.
const COMPARE_FILES_LISTED: usize = 300;

/// The check run's fixed parts.
#[derive(Debug, Clone, Copy)]
pub struct CheckRun<'a> {
    /// Its name; distinctive, because GitHub may attach it to another workflow's suite.
    pub name: &'a str,
    /// The commit it reports on: the pull request head.
    pub head_sha: &'a str,
    /// Its one-line title.
    pub title: &'a str,
    /// Markdown summary (≤ 65,535 characters).
    pub summary: &'a str,
    /// Whether it passes.
    pub success: bool,
}

impl CheckRun<'_> {
    fn output(&self, batch: &[Annotation]) -> CheckRunOutput {
        CheckRunOutput {
            title: clamp(self.title, TITLE_CHARS, usize::MAX),
            summary: clamp(self.summary, SUMMARY_CHARS, usize::MAX),
            text: None,
            annotations: batch.iter().map(to_check_annotation).collect(),
            images: Vec::new(),
        }
    }
}

fn to_check_annotation(annotation: &Annotation) -> CheckRunOutputAnnotation {
    CheckRunOutputAnnotation {
        path: annotation.file.clone(),
        start_line: annotation.line,
        end_line: annotation.line,
        start_column: annotation.columns.map(|(start, _)| start),
        end_column: annotation.columns.map(|(_, end)| end),
        annotation_level: match annotation.level {
            Level::Error => CheckRunOutputAnnotationLevel::Failure,
            Level::Warning => CheckRunOutputAnnotationLevel::Warning,
            Level::Notice => CheckRunOutputAnnotationLevel::Notice,
        },
        message: clamp(&annotation.message, usize::MAX, MESSAGE_BYTES),
        title: Some(clamp(&annotation.title, TITLE_CHARS, usize::MAX)),
        raw_details: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_cut_to_githubs_limits_with_an_ellipsis() {
        assert_eq!(clamp("short", TITLE_CHARS, usize::MAX), "short");
        let title = clamp(&"é".repeat(300), TITLE_CHARS, usize::MAX);
        assert_eq!(title.chars().count(), TITLE_CHARS);
        assert!(title.ends_with('…'));
        let message = clamp(&"ü".repeat(70_000), usize::MAX, MESSAGE_BYTES);
        assert!(message.len() <= MESSAGE_BYTES, "{}", message.len());
        assert!(message.len() > MESSAGE_BYTES - 4);
        let summary = clamp(&"a".repeat(70_000), SUMMARY_CHARS, usize::MAX);
        assert_eq!(summary.chars().count(), SUMMARY_CHARS);
    }
}
