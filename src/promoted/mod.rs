//! The tags ci-operator promotes: every ci-operator config under a folder (openshift/release
//! `ci-operator/config/`) read for its `promotion` stanza. Promoted images land in app.ci
//! imagestreams that are mirrored into QCI under the same `ns_name_tag`, so a
//! `supplementalCIImages` entry rendering to one of those tags would fight ci-operator over it.
//!
//! The folder may come from a pull request's checkout, so the walk is bounded: symbolic links
//! are never followed, and the number of files, each file's size and the bytes read in all
//! are capped. A config that cannot be read or parsed is skipped and counted, never an error:
//! it belongs to another team and says nothing about `_config.yaml`.

mod blocks;
mod ci_config;

use crate::qci::render_qci_tag;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// openshift/release has about 10,000 configs; five times that is no longer a config folder.
pub const MAX_FILES: usize = 50_000;
/// Real configs are a few KB, the largest well under 100 KB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// About ten times what the real folder holds.
pub const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
/// `ORG/REPO/file.yaml` is two levels deep; some slack for forks that nest further.
const MAX_DEPTH: usize = 8;

/// Where openshift/release keeps ci-operator configs, from the repository root.
pub const DEFAULT_FOLDER: &str = "ci-operator/config";

/// Where [`DEFAULT_FOLDER`] would be for the mirroring config at `config`: at the root of the
/// repository holding it, the folder above its `core-services/` (or the config's own folder
/// when it is not under one). The path may not exist.
pub fn folder_beside(config: &Path) -> PathBuf {
    let folder = config.parent().unwrap_or(Path::new(""));
    let root = folder
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "core-services"))
        .map_or(folder, |core_services| {
            core_services.parent().unwrap_or(Path::new(""))
        });
    root.join(DEFAULT_FOLDER)
}

/// The config, and the line in it, that promotes a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The config's path as shown to people (`ci-operator/config/org/repo/org-repo-main.yaml`).
    pub file: String,
    /// The line of its `promotion:` (or `binary_build_commands:` for the build cache).
    pub line: u32,
}

/// One promoted imagestreamtag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promoted {
    /// `namespace/name:tag`, as ci-operator names it.
    pub tag: String,
    /// Who promotes it.
    pub origin: Origin,
}

/// Every promoted tag, found by the QCI tag it is mirrored to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromotedTags {
    by_qci_tag: HashMap<String, Promoted>,
}

impl PromotedTags {
    /// The promoted tag mirrored to QCI tag `qci_tag` (`ns_name_tag`), if any.
    pub fn by_qci_tag(&self, qci_tag: &str) -> Option<&Promoted> {
        self.by_qci_tag.get(qci_tag)
    }

    /// How many distinct tags are promoted.
    pub fn len(&self) -> usize {
        self.by_qci_tag.len()
    }

    /// Whether nothing is promoted.
    pub fn is_empty(&self) -> bool {
        self.by_qci_tag.is_empty()
    }

    /// Records `tag`, keeping the first origin seen: files are merged in path order, so the
    /// one named is stable from run to run.
    fn insert(&mut self, tag: String, origin: Origin) {
        self.by_qci_tag
            .entry(render_qci_tag(&tag))
            .or_insert(Promoted { tag, origin });
    }
}

/// What a scan of a folder found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// The promoted tags.
    pub promoted: PromotedTags,
    /// Config files found (`.yaml` and `.yml`), skipped ones included.
    pub files: usize,
    /// Config files skipped because they could not be read or parsed.
    pub skipped: usize,
    /// The first skipped file and why, for the note.
    pub first_skipped: Option<String>,
    /// Whether a limit stopped the scan before every file was read.
    pub truncated: bool,
}

impl Scan {
    /// One line for people: what was read, what was skipped, and whether a limit cut it short.
    pub fn note(&self, folder: &str) -> String {
        let mut note = format!(
            "{} promoted tags from {} ci-operator configs under `{folder}`",
            self.promoted.len(),
            self.files
        );
        if self.skipped > 0 {
            note.push_str(&format!(
                "; {} skipped as unreadable or not ci-operator YAML (first: {})",
                self.skipped,
                self.first_skipped.as_deref().unwrap_or("?")
            ));
        }
        if self.truncated {
            note.push_str(&format!(
                "; stopped at a limit ({MAX_FILES} files, {MAX_FILE_BYTES} bytes each, {MAX_TOTAL_BYTES} bytes in all, {MAX_DEPTH} folders deep)"
            ));
        }
        note
    }
}

/// The ci-operator config folder itself could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list `{}`: {source}", dir.display())]
pub struct ScanError {
    dir: PathBuf,
    source: std::io::Error,
}

/// Reads every ci-operator config under `dir`, naming files in messages as `display/<path
/// under dir>`. Fails only when `dir` itself cannot be listed.
pub fn scan(dir: &Path, display: &str) -> Result<Scan, ScanError> {
    let (files, mut truncated) = list_configs(dir)?;
    let results = read_all(dir, &files);
    let mut scan = Scan {
        files: files.len(),
        ..Scan::default()
    };
    let display = display.trim_end_matches('/');
    for (relative, result) in files.iter().zip(results) {
        let shown = format!("{display}/{relative}");
        match result {
            FileResult::Promotes(tags) => {
                for (tag, line) in tags {
                    let origin = Origin {
                        file: shown.clone(),
                        line,
                    };
                    scan.promoted.insert(tag, origin);
                }
            }
            FileResult::Skipped(reason) => {
                scan.skipped += 1;
                scan.first_skipped
                    .get_or_insert_with(|| format!("`{shown}`: {reason}"));
            }
            FileResult::NotRead => truncated = true,
        }
    }
    scan.truncated = truncated;
    Ok(scan)
}

/// Config files under `dir` as `/`-separated relative paths, sorted, and whether a limit was
/// hit. As ci-tools' `pkg/config/load.go` walks: `.yaml` and `.yml` files, and names starting
/// with `..` (Kubernetes mount internals) skipped. Unlike it, symbolic links are skipped too:
/// the folder can be a pull request's checkout, and a link could lead anywhere.
fn list_configs(dir: &Path) -> Result<(Vec<String>, bool), ScanError> {
    let mut pending: Vec<(PathBuf, String, usize)> = vec![(dir.to_owned(), String::new(), 0)];
    let mut files = Vec::new();
    let mut truncated = false;
    while let Some((folder, relative, depth)) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(source) if depth == 0 => {
                return Err(ScanError {
                    dir: dir.to_owned(),
                    source,
                });
            }
            Err(_) => continue,
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("..") || kind.is_symlink() {
                continue;
            }
            let path = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            if kind.is_dir() {
                if depth + 1 < MAX_DEPTH {
                    pending.push((entry.path(), path, depth + 1));
                } else {
                    truncated = true;
                }
            } else if kind.is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
                if files.len() == MAX_FILES {
                    truncated = true;
                    break;
                }
                files.push(path);
            }
        }
    }
    files.sort_unstable();
    Ok((files, truncated))
}

enum FileResult {
    /// The tags the file promotes, each with its line.
    Promotes(Vec<(String, u32)>),
    /// Why the file was skipped.
    Skipped(String),
    /// Not read: the byte budget ran out first.
    NotRead,
}

/// Reads and parses `files` under `dir` on every core, in their order: one core parses the real
/// folder's 10,000 configs in about a second, two in half that.
fn read_all(dir: &Path, files: &[String]) -> Vec<FileResult> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 8)
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let budget = AtomicU64::new(MAX_TOTAL_BYTES);
    let exhausted = AtomicBool::new(false);
    let mut results: Vec<Option<FileResult>> = (0..files.len()).map(|_| None).collect();
    let found: Vec<Vec<(usize, FileResult)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(relative) = files.get(index) else {
                            break;
                        };
                        let result = if exhausted.load(Ordering::Relaxed) {
                            FileResult::NotRead
                        } else {
                            read_one(&dir.join(relative), &budget, &exhausted)
                        };
                        mine.push((index, result));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (index, result) in found.into_iter().flatten() {
        results[index] = Some(result);
    }
    // A worker that panicked leaves holes: those files count as skipped, not as promoting.
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| FileResult::Skipped("internal error".to_owned())))
        .collect()
}

fn read_one(path: &Path, budget: &AtomicU64, exhausted: &AtomicBool) -> FileResult {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return FileResult::Skipped(e.to_string());
    }
    let size = bytes.len() as u64;
    if size > MAX_FILE_BYTES {
        return FileResult::Skipped(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    if budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(size)
        })
        .is_err()
    {
        exhausted.store(true, Ordering::Relaxed);
        return FileResult::NotRead;
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return FileResult::Skipped("not UTF-8".to_owned());
    };
    promoted_in(text)
}

/// The tags `text` promotes. A config that never says `promotion` promotes nothing
/// (`PromotedTagsWithRequiredImages` returns early without a promotion configuration, build
/// cache included), so most files are settled by one substring search instead of a parse.
fn promoted_in(text: &str) -> FileResult {
    if !text.contains("promotion") {
        return FileResult::Promotes(Vec::new());
    }
    // The cut-down document is tried first; should it not parse on its own (an alias to an
    // anchor in a stanza left out), the whole text decides.
    let stanzas = blocks::wanted_stanzas(text);
    let cut = stanzas
        .as_ref()
        .and_then(|s| serde_saphyr::from_str::<ci_config::CiOperatorConfig>(&s.text).ok());
    let config = match cut.map_or_else(|| serde_saphyr::from_str(text), Ok) {
        Ok(config) => config,
        Err(e) => return FileResult::Skipped(first_line(&e.to_string())),
    };
    let (promotion_line, binaries_line) = match &stanzas {
        Some(s) => (s.promotion_line.unwrap_or(1), s.binaries_line.unwrap_or(1)),
        None => (
            top_level_line(text, "promotion:"),
            top_level_line(text, "binary_build_commands:"),
        ),
    };
    let tags = ci_config::promoted_tags(&config)
        .into_iter()
        .map(|(tag, stanza)| {
            let line = match stanza {
                ci_config::Stanza::Promotion => promotion_line,
                ci_config::Stanza::BinaryBuildCommands => binaries_line,
            };
            (tag, line)
        })
        .collect();
    FileResult::Promotes(tags)
}

/// The 1-based line on which `key` starts a line, or 1: ci-operator configs are written by
/// `determinize-ci-operator`, top-level keys at the start of a line.
fn top_level_line(text: &str, key: &str) -> u32 {
    text.lines()
        .position(|line| line.starts_with(key))
        .and_then(|index| u32::try_from(index + 1).ok())
        .unwrap_or(1)
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = "tests/fixtures/ci-operator/config";

    fn origin_of(scan: &Scan, tag: &str) -> Option<String> {
        let found = scan.promoted.by_qci_tag(&render_qci_tag(tag))?;
        assert_eq!(found.tag, tag);
        Some(format!("{}:{}", found.origin.file, found.origin.line))
    }

    #[test]
    fn real_configs_promote_what_ci_operator_would() {
        let scan = scan(Path::new(FIXTURES), DEFAULT_FOLDER).unwrap();
        assert_eq!((scan.files, scan.skipped, scan.truncated), (32, 0, false));
        let oc = "ci-operator/config/openshift/oc/openshift-oc-main.yaml";
        assert_eq!(
            origin_of(&scan, "ocp/4.21:cli").unwrap(),
            format!("{oc}:104")
        );
        assert_eq!(
            origin_of(&scan, "ocp/4.21:oc-rpms").unwrap(),
            format!("{oc}:104")
        );
        assert_eq!(origin_of(&scan, "ocp/4.21:tests"), None, "excluded");
        assert_eq!(
            origin_of(&scan, "build-cache/openshift-oc:main").unwrap(),
            format!("{oc}:38")
        );
        assert!(
            origin_of(&scan, "ocp/5.2:recycler").is_some(),
            "images.items"
        );
        assert!(origin_of(&scan, "build-cache/openshift-oc:release-5.2").is_some());
        assert!(
            origin_of(&scan, "ci/cli-ocm:latest").is_some(),
            "additional image"
        );
        assert_eq!(
            origin_of(&scan, "ci/cli-ocm:cli"),
            None,
            "`*` excludes every image"
        );
        // A single target directly under `promotion` is not read by today's ci-tools.
        assert_eq!(
            origin_of(&scan, "ci/ci-operator:latest-arm64"),
            None,
            "legacy target"
        );
        assert!(origin_of(&scan, "build-cache/openshift-ci-tools:master-arm64").is_some());
        assert!(origin_of(&scan, "ci/hyperfleet-api:latest").is_some());
        assert!(origin_of(&scan, "ci/hyperfleet-e2e:release-0.3").is_some());
        // A disabled target promotes nothing, and the build cache beside it is still promoted.
        assert_eq!(origin_of(&scan, "ocp/5.1:operator-marketplace"), None);
        assert_eq!(origin_of(&scan, "ocp/4.20:src-plus-az"), None);
        let aro = "ci-operator/config/Azure/ARO-HCP/Azure-ARO-HCP-release-4.20.yaml";
        assert_eq!(
            origin_of(&scan, "build-cache/Azure-ARO-HCP:release-4.20").unwrap(),
            format!("{aro}:1")
        );
        assert_eq!(
            origin_of(&scan, "stolostron/2.14:acm-cli"),
            None,
            "optional"
        );
        assert!(origin_of(&scan, "build-cache/stolostron-api:main").is_some());
        assert_eq!(
            origin_of(
                &scan,
                "build-cache/redhat-developer-devconsole-operator:master"
            ),
            None,
            "no promotion, no build cache"
        );
        assert!(origin_of(&scan, "ci/ci-chat-bot:latest").is_some());
        assert_eq!(origin_of(&scan, "ci/rosa-cleanup:latest"), None, "excluded");
        assert!(origin_of(&scan, "continuous-release-jobs/rosa-cleanup:latest").is_some());
        assert_eq!(origin_of(&scan, "ci/html-proofer:latest"), None, "excluded");
        assert!(origin_of(&scan, "ocp/4.23:operator-marketplace").is_some());
        // Single targets directly under `promotion`: their images are not promoted today,
        // a build cache still is.
        assert_eq!(origin_of(&scan, "stolostron/2.3:addon-framework"), None);
        assert!(origin_of(&scan, "build-cache/stolostron-addon-framework:main").is_some());
        assert_eq!(
            origin_of(
                &scan,
                "openshift/knative-v0.10.0:knative-eventing-sources-event-display"
            ),
            None
        );
        // Per-file counts are in tests/fixtures/ci-operator/PROVENANCE.md ("promotes"): 111
        // when single targets were read, less 58 + 1 + 1 + 1 + 1 + 12 from the six files that
        // have one.
        assert_eq!(scan.promoted.len(), 37);
    }

    #[test]
    fn broken_configs_are_counted_and_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("org/repo");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(repo.join("org-repo-main.yaml"), "promotion: [unclosed").unwrap();
        std::fs::write(repo.join("org-repo-big.yaml"), vec![b'#'; 2 << 20]).unwrap();
        std::fs::write(repo.join("notes.txt"), "promotion:").unwrap();
        let outside = tempfile::tempdir().unwrap();
        let planted = outside.path().join("x.yaml");
        std::fs::write(
            &planted,
            "images:\n- to: a\npromotion:\n  to:\n  - namespace: ci\n    tag: latest\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(&planted, repo.join("org-repo-link.yaml")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked-org")).unwrap();
        let scan = scan(dir.path(), "cfg").unwrap();
        assert_eq!((scan.files, scan.skipped), (2, 2));
        assert!(scan.promoted.is_empty());
        assert!(
            scan.note("cfg").contains("2 skipped"),
            "{}",
            scan.note("cfg")
        );
    }

    #[test]
    fn the_folder_is_found_at_the_root_of_the_repository_holding_the_config() {
        assert_eq!(
            folder_beside(Path::new("core-services/image-mirroring/_config.yaml")),
            Path::new("ci-operator/config")
        );
        assert_eq!(
            folder_beside(Path::new(
                "/src/release/core-services/image-mirroring/_config.yaml"
            )),
            Path::new("/src/release/ci-operator/config")
        );
        assert_eq!(
            folder_beside(Path::new("_config.yaml")),
            Path::new("ci-operator/config")
        );
    }
}
