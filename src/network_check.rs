//! Network checks on the `supplementalCIImages` entries a pull request adds or changes:
//! read-only requests that need no secret. The source must exist and be pullable anonymously or
//! with the pull credentials given (a private image cannot be mirrored), it should have a
//! linux/amd64 image, and a new entry must not take a QCI tag that already holds an image
//! (DPTP-3915). A registry that cannot answer is a warning naming it, never an error.
//!
//! Requests per entry: one HEAD of the source, and one HEAD of the target unless the base config
//! already produces its QCI tag. The platform check adds one GET for an index, or two for a
//! single image (its manifest, then its config), made only once the source is known to exist.
//! Logins come on top, once per repository. Nothing is retried: a failure only warns, and
//! re-running the job checks again.

use crate::config::model::Config;
use crate::diag::{Code, Diagnostic};
use crate::entries::diff::ConfigDiff;
use crate::mirror::manifest::{self, Manifest, Platform};
use crate::qci::render_qci_tag;
use crate::registry::client::{HttpError, ManifestHead};
use crate::registry::{Session, media};
use crate::rules::Options;
use crate::source::Span;
use crate::tasks::{Bounded, Ended};
use oci_client::Reference;
use oci_client::secrets::RegistryAuth;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How long all network checks of one pull request may take together, by default: a registry
/// that never answers must not hold the check for longer than this.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

/// Image configs larger than this are not read for their platform (real ones are a few KiB).
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// One entry to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Where the key is: target findings go there.
    pub key_span: Span,
    /// Where the source is (`image:`, or an imagestreamtag's `namespace:`): source findings go
    /// there.
    pub source_span: Span,
    /// The source pull spec as the config gives it.
    pub source_spec: String,
    /// The source, parsed.
    pub source: Reference,
    /// The target, `<target repository>:<QCI tag>`.
    pub target: Reference,
    /// The base config already produces this QCI tag, so the tag is the config's to move.
    pub in_base: bool,
    /// The source is on the imagestreamtag registry (app.ci), which the mirror reads with its
    /// own login: refused anonymously, it is unchecked rather than private.
    pub on_istag_registry: bool,
}

/// The entries of `head` to check: added or changed `supplementalCIImages` entries without
/// validation errors (an invalid or Docker Hub source is never looked up) and not ignored.
pub fn changed_entries(
    head: &Config,
    head_diagnostics: &[Diagnostic],
    base: &Config,
    diff: &ConfigDiff<'_>,
    options: &Options,
) -> Vec<Check> {
    let changed: HashSet<&str> = diff.changed_supplemental_keys().collect();
    // By QCI tag rather than key: `a_b/c:d` renamed to `a/b_c:d` still writes the tag it wrote.
    let base_tags: HashSet<String> = base
        .supplemental_entries()
        .map(|e| render_qci_tag(&e.key.value))
        .collect();
    let (planned, lookups) = crate::entries::resolve(head, head_diagnostics, options);
    lookups
        .into_iter()
        .filter(|lookup| lookup.section == crate::entries::Section::Supplemental)
        .filter_map(|lookup| {
            let entry = &planned[lookup.index];
            let source_span = lookup.source_span?;
            let on_istag_registry =
                lookup.source.resolve_registry() == options.istag_registry.as_str();
            changed.contains(entry.key.as_str()).then(|| Check {
                key_span: lookup.key_span,
                source_span,
                source_spec: entry.source.clone(),
                source: lookup.source,
                target: lookup.target,
                in_base: base_tags.contains(&render_qci_tag(&entry.key)),
                on_istag_registry,
            })
        })
        .collect()
}

/// The registry hosts `checks` will talk to, sorted.
pub fn registries(checks: &[Check]) -> Vec<String> {
    let hosts: BTreeSet<&str> = checks
        .iter()
        .flat_map(|c| {
            std::iter::once(c.source.registry()).chain((!c.in_base).then(|| c.target.registry()))
        })
        .collect();
    hosts.into_iter().map(str::to_owned).collect()
}

/// Checks every entry, at most `concurrency` at a time; the findings come in entry order.
pub async fn check(
    session: Arc<Session>,
    checks: Vec<Check>,
    concurrency: usize,
    budget: Duration,
) -> Vec<Diagnostic> {
    let deadline = tokio::time::Instant::now() + budget;
    // Waiting for a slot counts against the budget too: the report must come in time.
    let mut tasks = Bounded::new(concurrency).until(deadline);
    for (index, check) in checks.iter().enumerate() {
        let (session, check) = (Arc::clone(&session), check.clone());
        tasks.spawn(index, async move { check_entry(&session, &check).await });
    }
    let ended = tasks.all(checks.len()).await;
    checks
        .iter()
        .zip(ended)
        .flat_map(|(check, ended)| match ended {
            Some(Ended::Finished(found)) => found,
            Some(Ended::OutOfTime) => vec![unreachable(
                check.source_span,
                &format!("`{}`", check.source_spec),
                check.source.registry(),
                &format!(
                    "the network checks ran out of their {} s (input network_checks_timeout) before this entry was checked",
                    budget.as_secs()
                ),
            )],
            // A check that died (a bug) must not pass for a clean one, nor fail the step.
            Some(Ended::Panicked) | None => vec![Diagnostic::warning(
                Code::RegistryUnreachable,
                check.key_span,
                "the network check of this entry did not finish (an internal error)",
            )],
        })
        .collect()
}

async fn check_entry(session: &Session, check: &Check) -> Vec<Diagnostic> {
    let (mut found, source_digest) = check_source(session, check).await;
    if !check.in_base {
        found.extend(check_target(session, check, source_digest.as_deref()).await);
    }
    found
}

/// The source's findings, and its digest when it was found.
async fn check_source(session: &Session, check: &Check) -> (Vec<Diagnostic>, Option<String>) {
    let auth = session.credentials.for_source(&check.source);
    let head = match session.sources.manifest_head(&check.source, &auth).await {
        Ok(Some(head)) => head,
        Ok(None) => return (vec![not_found(check)], None),
        Err(HttpError::Denied { status, .. }) => {
            let anonymous = matches!(auth, RegistryAuth::Anonymous);
            if anonymous && check.on_istag_registry {
                let what = format!("the imagestreamtag source `{}`", check.source_spec);
                let reason = format!(
                    "it needs a login (HTTP {status}), which the mirror has and this check was not given; pass app.ci pull credentials in QCI_REGISTRY_AUTH to check imagestreamtags"
                );
                let host = check.source.registry();
                return (
                    vec![unreachable(check.source_span, &what, host, &reason)],
                    None,
                );
            }
            return (vec![private(check, status, anonymous)], None);
        }
        Err(error) => {
            let what = format!("the source `{}`", check.source_spec);
            let host = check.source.registry();
            return (
                vec![unreachable(
                    check.source_span,
                    &what,
                    host,
                    &error.to_string(),
                )],
                None,
            );
        }
    };
    let found = match platforms(session, &check.source, &auth, &head).await {
        Ok(Some(platforms)) if !platforms.has_linux_amd64() => {
            vec![wrong_platform(check, &platforms)]
        }
        Ok(_) => Vec::new(),
        Err(reason) => {
            let what = format!("the platforms of `{}`", check.source_spec);
            let host = check.source.registry();
            vec![unreachable(
                check.source_span,
                &what,
                host,
                &reason.to_string(),
            )]
        }
    };
    (found, Some(head.digest))
}

async fn check_target(
    session: &Session,
    check: &Check,
    source_digest: Option<&str>,
) -> Option<Diagnostic> {
    let auth = session.credentials.for_target(&check.target);
    let what = format!("whether `{}` is free", check.target);
    let host = check.target.registry();
    match session.target.manifest_digest(&check.target, &auth).await {
        Ok(None) => None,
        Ok(Some(digest)) => Some(target_exists(check, &digest, source_digest)),
        // Unlike the mirror, which may treat a refusal as "absent", a check that cannot see
        // the tag must not pass it as free.
        Err(HttpError::Denied { status, .. }) => Some(unreachable(
            check.key_span,
            &what,
            host,
            &format!("access denied (HTTP {status})"),
        )),
        Err(error) => Some(unreachable(check.key_span, &what, host, &error.to_string())),
    }
}

/// What a source offers.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Platforms {
    /// An index: its children's platforms (`None` where a child names none).
    Index(Vec<Option<Platform>>),
    /// A single image, as its config states it.
    Image(Platform),
}

impl Platforms {
    /// Whether a linux/amd64 machine could run it. A child naming no platform could be
    /// anything, so it counts as a yes: the check never warns on a guess.
    fn has_linux_amd64(&self) -> bool {
        match self {
            Platforms::Index(children) => children
                .iter()
                .any(|p| p.as_ref().is_none_or(Platform::is_linux_amd64)),
            Platforms::Image(platform) => platform.is_linux_amd64(),
        }
    }
}

/// The source's platforms, or `None` when it is something else than an index or an image (an
/// artifact, a schema 1 manifest) or states none. The HEAD cannot tell them: an index costs a
/// GET of itself, a single image a GET of its manifest (to find its config) and of its config.
/// Both are fetched by the digest the HEAD saw, so a tag moving meanwhile cannot mix two images.
async fn platforms(
    session: &Session,
    source: &Reference,
    auth: &RegistryAuth,
    head: &ManifestHead,
) -> Result<Option<Platforms>, PlatformsError> {
    let known = [
        media::OCI_INDEX,
        media::DOCKER_LIST,
        media::OCI_MANIFEST,
        media::DOCKER_MANIFEST,
    ];
    if head
        .media_type
        .as_deref()
        .is_some_and(|t| !known.contains(&t))
    {
        return Ok(None);
    }
    let pinned = source.clone_with_digest(head.digest.clone());
    let (bytes, _) = session.sources.manifest(&pinned, auth).await?;
    match manifest::parse(&bytes)? {
        Manifest::Index { children, .. } => Ok(Some(Platforms::Index(
            children.into_iter().map(|c| c.platform).collect(),
        ))),
        Manifest::Image { blobs, .. } => {
            let Some(config) = blobs.first().filter(|c| c.size <= MAX_CONFIG_BYTES) else {
                return Ok(None);
            };
            let bytes = read_blob(session, &pinned, (&config.digest, config.size), auth).await?;
            // Not JSON, or no os/architecture: an artifact's config, not an image's.
            Ok(serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|config| Platform::from_json(&config))
                .map(Platforms::Image))
        }
    }
}

/// Why a source's platforms could not be read; its text is the reason in the finding.
#[derive(Debug, thiserror::Error)]
enum PlatformsError {
    /// A request failed.
    #[error(transparent)]
    Http(#[from] crate::registry::client::HttpError),
    /// The config blob broke off or did not match its digest.
    #[error(transparent)]
    Body(#[from] std::io::Error),
    /// The manifest is not one this tool reads.
    #[error(transparent)]
    Manifest(#[from] crate::mirror::manifest::ManifestError),
}

/// A small blob, whole and digest-checked.
async fn read_blob(
    session: &Session,
    image: &Reference,
    blob: (&str, u64),
    auth: &RegistryAuth,
) -> Result<Vec<u8>, PlatformsError> {
    use futures_util::StreamExt;
    // `pull_blob` runs under a slot its caller holds (blob streams hold theirs while they last).
    let _slot = session.hosts.enter(image.resolve_registry()).await;
    let mut stream = session.sources.pull_blob(image, blob, auth).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}

fn not_found(check: &Check) -> Diagnostic {
    Diagnostic::error(
        Code::SourceNotFound,
        check.source_span,
        format!(
            "`{}` does not exist: {} has no such repository or tag",
            check.source_spec,
            check.source.registry()
        ),
    )
    .with_help("check the repository and tag for typos, and that the image was pushed")
}

fn private(check: &Check, status: u16, anonymous: bool) -> Diagnostic {
    let how = if anonymous {
        "anonymously".to_owned()
    } else {
        format!("with the pull credentials for {}", check.source.registry())
    };
    Diagnostic::error(
        Code::SourcePrivate,
        check.source_span,
        format!(
            "`{}` cannot be pulled {how} ({} answered HTTP {status}): the image is private, or its repository does not exist; private images cannot be mirrored",
            check.source_spec,
            check.source.registry()
        ),
    )
    .with_help("mirror from a public repository (make this one public, or push the image to one)")
}

fn wrong_platform(check: &Check, platforms: &Platforms) -> Diagnostic {
    let has = match platforms {
        Platforms::Index(children) => {
            let named: BTreeSet<String> =
                children.iter().flatten().map(|p| p.to_string()).collect();
            format!(
                "its index has {}",
                named.into_iter().collect::<Vec<_>>().join(", ")
            )
        }
        Platforms::Image(platform) => format!("it is a single {platform} image"),
    };
    Diagnostic::warning(
        Code::SourceWrongPlatform,
        check.source_span,
        format!(
            "`{}` has no linux/amd64 image ({has}): jobs on linux/amd64 clusters, most of CI, cannot run it",
            check.source_spec
        ),
    )
    .with_help("mirror an index that includes linux/amd64, unless the image is only meant for other clusters")
}

fn target_exists(check: &Check, digest: &str, source_digest: Option<&str>) -> Diagnostic {
    let same = if source_digest == Some(digest) {
        "; it holds the source's very image today, but something else put it there and may move it"
    } else {
        ""
    };
    Diagnostic::error(
        Code::TargetExists,
        check.key_span,
        format!(
            "`{}` already exists ({digest}): this new entry would overwrite it",
            check.target
        ),
    )
    .with_help(format!(
        "choose a key whose QCI tag is free: an existing tag may be a promoted image or another entry's, and mirroring would replace it{same}"
    ))
}

fn unreachable(span: Span, what: &str, host: &str, reason: &str) -> Diagnostic {
    Diagnostic::warning(
        Code::RegistryUnreachable,
        span,
        format!("could not check {what} on registry {host}: {reason}"),
    )
    .with_help("a registry that cannot answer only warns; re-run the job to check again")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::validate::check_text;

    fn platform(os: &str, architecture: &str) -> Option<Platform> {
        Some(Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: None,
        })
    }

    #[test]
    fn only_a_platform_known_to_be_elsewhere_lacks_amd64() {
        let index = |children: Vec<Option<Platform>>| Platforms::Index(children).has_linux_amd64();
        assert!(index(vec![
            platform("linux", "arm64"),
            platform("linux", "amd64")
        ]));
        assert!(!index(vec![
            platform("linux", "arm64"),
            platform("unknown", "unknown")
        ]));
        assert!(!index(vec![platform("windows", "amd64")]));
        assert!(
            index(vec![platform("linux", "arm64"), None]),
            "a child without a platform could be amd64"
        );
        assert!(!index(vec![]));
        assert!(Platforms::Image(platform("linux", "amd64").unwrap()).has_linux_amd64());
        assert!(!Platforms::Image(platform("linux", "s390x").unwrap()).has_linux_amd64());
    }

    #[test]
    fn only_valid_changed_entries_are_checked_and_base_tags_are_known() {
        let base_text = "\
supplementalCIImages:
  ci/kept:v1:
    image: quay.io/org/kept:v1
  ci/moved:v1:
    image: quay.io/org/moved:v1
  a_b/c:d:
    image: quay.io/org/renamed:v1
";
        let head_text = "\
supplementalCIImages:
  ci/kept:v1:
    image: quay.io/org/kept:v1
  ci/moved:v1:
    image: quay.io/org/moved:v2
  a/b_c:d:
    image: quay.io/org/renamed:v1
  ci/new:v1:
    namespace: ci
    name: tool
    tag: v1
  ci/hub:v1:
    image: nginx:1.25
  ci/bad:v1:
    image: quay.io/Org/Bad:v1
";
        let options = Options::default();
        let base = crate::config::load(&SourceFile::new("c", base_text.to_owned())).0;
        let head = check_text(SourceFile::new("c", head_text.to_owned()), &options);
        let head_config = crate::config::load(&head.file).0;
        let diff = crate::entries::diff::diff(&base, &head_config);
        let checks = changed_entries(&head_config, &head.diagnostics, &base, &diff, &options);
        let seen: Vec<(&str, &str, bool, u32, u32)> = checks
            .iter()
            .map(|c| {
                (
                    c.source_spec.as_str(),
                    c.target.tag().unwrap(),
                    c.in_base,
                    c.key_span.line,
                    c.source_span.line,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("quay.io/org/moved:v2", "ci_moved_v1", true, 4, 5),
                ("quay.io/org/renamed:v1", "a_b_c_d", true, 6, 7),
                (
                    "registry.ci.openshift.org/ci/tool:v1",
                    "ci_new_v1",
                    false,
                    8,
                    9
                ),
            ]
        );
        assert_eq!(checks[2].target.whole(), "quay.io/openshift/ci:ci_new_v1");
        assert_eq!(
            registries(&checks),
            ["quay.io", "registry.ci.openshift.org"]
        );
    }
}
