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

#[cfg(test)]
mod tests {
    use super::*;

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
}
