//! How a config key becomes a tag in the QCI repository.

/// The longest tag a registry accepts (OCI distribution spec: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
pub const MAX_TAG_LEN: usize = 128;

/// A key split into its parts: `namespace/name:tag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// Before the `/`.
    pub namespace: &'a str,
    /// Between the `/` and the `:`.
    pub name: &'a str,
    /// After the `:`.
    pub tag: &'a str,
}

/// Why a key is not `namespace/name:tag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// No `/` at all.
    NoSlash,
    /// More than one `/`.
    ExtraSlash,
    /// No `:` after the `/`.
    NoColon,
    /// More than one `:` after the `/`.
    ExtraColon,
    /// One of the three parts is empty.
    EmptyPart(&'static str),
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::NoSlash => f.write_str("it has no `/` between namespace and name"),
            TargetError::ExtraSlash => f.write_str("it has more than one `/`"),
            TargetError::NoColon => f.write_str("it has no `:` before the tag"),
            TargetError::ExtraColon => f.write_str("it has more than one `:`"),
            TargetError::EmptyPart(part) => write!(f, "its {part} is empty"),
        }
    }
}

/// Splits a key the way ci-images-mirror does: exactly one `/`, then exactly one `:` after it,
/// and no empty part.
pub fn parse_target(key: &str) -> Result<Target<'_>, TargetError> {
    let (namespace, rest) = key.split_once('/').ok_or(TargetError::NoSlash)?;
    if rest.contains('/') {
        return Err(TargetError::ExtraSlash);
    }
    let (name, tag) = rest.split_once(':').ok_or(TargetError::NoColon)?;
    if tag.contains(':') {
        return Err(TargetError::ExtraColon);
    }
    for (part, text) in [("namespace", namespace), ("name", name), ("tag", tag)] {
        if text.is_empty() {
            return Err(TargetError::EmptyPart(part));
        }
    }
    Ok(Target {
        namespace,
        name,
        tag,
    })
}

/// Checks a repository given on the command line or as an input (`--target-repository`):
/// a registry host, then a path, with no tag or digest, as `quay.io/openshift/ci`. A name
/// without a host would silently mean Docker Hub.
pub fn parse_repository(value: &str) -> Result<String, RepositoryError> {
    let tagged = format!("{value}:tag");
    match oci_client::Reference::try_from(tagged.as_str()) {
        Ok(reference) if reference.whole() == tagged && value.contains('/') => Ok(value.to_owned()),
        Ok(_) => Err(RepositoryError::NoHost(crate::diag::printable(value))),
        Err(_) => Err(RepositoryError::Invalid(crate::diag::printable(value))),
    }
}

/// Why a repository is refused; the text says what one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepositoryError {
    /// A name without a registry host, which would mean Docker Hub.
    #[error("`{0}` names no registry host; {REPOSITORY_HINT}")]
    NoHost(String),
    /// Not a repository at all (a tag, a digest, upper case, a URL).
    #[error("`{0}` is not a repository; {REPOSITORY_HINT}")]
    Invalid(String),
}

const REPOSITORY_HINT: &str = "expected a repository such as quay.io/openshift/ci: a registry host, then a path in lower case, without tag or digest";

/// The QCI tag for a key: only the first `/` and the first `:` become `_`, exactly as
/// ci-images-mirror renders it (`ci/boskos:latest` → `ci_boskos_latest`).
pub fn render_qci_tag(key: &str) -> String {
    key.replacen('/', "_", 1).replacen(':', "_", 1)
}

/// Why a string is not a valid registry tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagError {
    /// Longer than [`MAX_TAG_LEN`].
    TooLong(usize),
    /// Starts with `.` or `-`.
    BadFirst(char),
    /// Holds a character outside `[A-Za-z0-9_.-]`.
    BadChar(char),
}

impl std::fmt::Display for TagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TagError::TooLong(len) => {
                write!(
                    f,
                    "it is {len} characters long; tags hold at most {MAX_TAG_LEN}"
                )
            }
            TagError::BadFirst(c) => write!(f, "a tag cannot start with `{c}`"),
            TagError::BadChar(' ') => f.write_str(
                "a space is not allowed in a tag (only letters, digits, `_`, `.` and `-`)",
            ),
            TagError::BadChar(c) => write!(
                f,
                "`{}` is not allowed in a tag (only letters, digits, `_`, `.` and `-`)",
                if c.is_control() {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            ),
        }
    }
}

/// Checks the tag grammar `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), TagError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if let Some(bad) = tag.chars().find(|&c| !allowed(c)) {
        return Err(TagError::BadChar(bad));
    }
    match tag.chars().next() {
        Some(first @ ('.' | '-')) => return Err(TagError::BadFirst(first)),
        None => return Err(TagError::TooLong(0)),
        Some(_) => {}
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(TagError::TooLong(tag.len()));
    }
    Ok(())
}

/// The longest tag a registry takes.
pub const MAX_TAG_LENGTH: usize = 128;

/// What the QCI pruner (openshift/release `hack/qci_registry_pruner.py`) recognises between the
/// timestamp and the tag it backs up.
pub const BACKUP_INFIX: &str = "_prune___ci_images_mirror__";

/// The tag that keeps `tag`'s old image before it moves, in the incumbent's form
/// `<YYYYMMDDHHMMSS>_prune___ci_images_mirror__<tag>` (`stamp` is the timestamp). A name
/// past 128 characters keeps its first 119 and ends in `_` and 8 hex digits of its SHA-256, so
/// long tags still get distinct, valid names that the pruner still matches.
pub fn backup_tag(stamp: &str, tag: &str) -> String {
    let full = format!("{stamp}{BACKUP_INFIX}{tag}");
    if full.len() <= MAX_TAG_LENGTH {
        return full;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(full.as_bytes());
    let hex: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
    let mut cut = MAX_TAG_LENGTH - 9;
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hex}", &full[..cut])
}

/// Whether `candidate` is a backup tag of `tag` ([`backup_tag`] with some 14-digit stamp).
pub fn is_backup_of(candidate: &str, tag: &str) -> bool {
    candidate
        .get(..14)
        .filter(|stamp| stamp.bytes().all(|b| b.is_ascii_digit()))
        .is_some_and(|stamp| backup_tag(stamp, tag) == candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_names_its_registry_and_nothing_after_the_path() {
        for good in [
            "quay.io/openshift/ci",
            "127.0.0.1:5000/ci",
            "localhost:5000/a/b",
        ] {
            assert_eq!(parse_repository(good).as_deref(), Ok(good));
        }
        for bad in [
            "",
            "ci",
            "openshift/ci",
            "quay.io/openshift/ci:latest",
            "quay.io/openshift/ci@sha256:abc",
            "quay.io/OpenShift/ci",
            "quay.io/openshift/ci/",
            "https://quay.io/openshift/ci",
        ] {
            assert!(parse_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn renders_only_the_first_separators() {
        assert_eq!(render_qci_tag("ci/boskos:latest"), "ci_boskos_latest");
        assert_eq!(
            render_qci_tag("ocp/4.22:rhel-coreos-next"),
            "ocp_4.22_rhel-coreos-next"
        );
        assert_eq!(render_qci_tag("a_b/c:d"), render_qci_tag("a/b_c:d"));
        assert_eq!(render_qci_tag("a/b:c:d"), "a_b_c:d");
    }

    #[test]
    fn targets_need_three_non_empty_parts() {
        assert!(parse_target("rh_ee_ves/aro-hcp-e2e-base:v1.0").is_ok());
        assert_eq!(parse_target("ci-foo:bar"), Err(TargetError::NoSlash));
        assert_eq!(parse_target("ci/a/b:c"), Err(TargetError::ExtraSlash));
        assert_eq!(parse_target("ci/a"), Err(TargetError::NoColon));
        assert_eq!(parse_target("ci/a:b:c"), Err(TargetError::ExtraColon));
        assert_eq!(
            parse_target("/a:b"),
            Err(TargetError::EmptyPart("namespace"))
        );
        assert_eq!(parse_target("ci/:b"), Err(TargetError::EmptyPart("name")));
        assert_eq!(parse_target("ci/a:"), Err(TargetError::EmptyPart("tag")));
    }

    #[test]
    fn tag_grammar() {
        assert!(check_tag("ci_minio_RELEASE.2025-09-07T16-13-09Z").is_ok());
        assert!(check_tag("_x").is_ok());
        assert_eq!(check_tag(".x"), Err(TagError::BadFirst('.')));
        assert_eq!(check_tag("-x"), Err(TagError::BadFirst('-')));
        assert_eq!(check_tag("a+b"), Err(TagError::BadChar('+')));
        assert_eq!(check_tag("a b"), Err(TagError::BadChar(' ')));
        assert!(check_tag(&"a".repeat(128)).is_ok());
        assert_eq!(check_tag(&"a".repeat(129)), Err(TagError::TooLong(129)));
    }

    #[test]
    fn backup_tags_take_the_pruners_form_and_stay_valid_and_distinct() {
        assert_eq!(
            backup_tag("20251023140242", "ci_boskos_latest"),
            "20251023140242_prune___ci_images_mirror__ci_boskos_latest"
        );
        let long_a = format!("ci_{}_a", "x".repeat(100));
        let long_b = format!("ci_{}_b", "x".repeat(100));
        let (a, b) = (
            backup_tag("20251023140242", &long_a),
            backup_tag("20251023140242", &long_b),
        );
        assert_eq!(a.len(), MAX_TAG_LENGTH);
        assert_ne!(a, b);
        assert!(check_tag(&a).is_ok(), "{a}");
        assert!(a.starts_with("20251023140242_prune___ci_images_mirror__ci_xxx"));
    }
}
