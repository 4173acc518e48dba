//! Image pull specs, normalized the way container tools read them.
//!
//! Parsing is oci-client's `Reference` (the distribution/reference grammar, with Docker Hub's
//! implicit `docker.io` and `library/`). This module adds what the check needs on top: whether a
//! tag was written at all (oci-client fills in `latest`), Docker Hub in all its spellings, and
//! messages that say *why* a reference is invalid.

use std::fmt;

/// Host names that all mean Docker Hub.
const DOCKER_HUB_HOSTS: [&str; 5] = [
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
    "hub.docker.com",
];

/// A parsed, normalized pull spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (and port), e.g. `quay.io`; `docker.io` when none was written.
    pub registry: String,
    /// Repository path, e.g. `library/nginx`.
    pub repository: String,
    /// The tag, if one was written (never a filled-in `latest`).
    pub tag: Option<String>,
    /// The digest, if one was written.
    pub digest: Option<String>,
    /// Whether the spec named its registry, rather than implying Docker Hub.
    pub explicit_registry: bool,
}

impl ImageRef {
    /// Whether the image is on Docker Hub, however it was spelled.
    pub fn is_docker_hub(&self) -> bool {
        DOCKER_HUB_HOSTS
            .iter()
            .any(|host| self.registry.eq_ignore_ascii_case(host))
    }

    /// Whether the spec pins neither a tag nor a digest.
    pub fn is_untagged(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }
}

impl fmt::Display for ImageRef {
    /// The fully qualified form, e.g. `docker.io/library/nginx:1.25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Why a pull spec is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceError {
    /// Nothing was written.
    Empty,
    /// Contains a space, tab or line break.
    Whitespace,
    /// The repository path has upper-case letters.
    Uppercase,
    /// A quay.io web page address (`quay.io/repository/…`), not a pull spec.
    WebPage {
        /// The pull spec that was probably meant.
        pull_spec: String,
    },
    /// A `@` digest that is not `algorithm:hex` of the right length.
    BadDigest,
    /// Anything else the grammar rejects.
    Malformed(String),
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceError::Empty => f.write_str("it is empty"),
            ReferenceError::Whitespace => f.write_str("it contains white space"),
            ReferenceError::Uppercase => f.write_str("repository paths must be lower case"),
            ReferenceError::WebPage { pull_spec } => write!(
                f,
                "it is the address of a quay.io web page, not a pull spec; the image is `{pull_spec}`"
            ),
            ReferenceError::BadDigest => f.write_str(
                "its digest is not `sha256:` followed by 64 lower-case hexadecimal digits",
            ),
            ReferenceError::Malformed(reason) => f.write_str(reason),
        }
    }
}

/// Parses and normalizes a pull spec.
pub fn parse_image(spec: &str) -> Result<ImageRef, ReferenceError> {
    if spec.is_empty() {
        return Err(ReferenceError::Empty);
    }
    if spec.chars().any(char::is_whitespace) {
        return Err(ReferenceError::Whitespace);
    }
    let parsed = match oci_client::Reference::try_from(spec) {
        Ok(parsed) => parsed,
        Err(error) => return Err(explain(spec, &error)),
    };
    // oci-client takes any algorithm and upper-case hex; registries refuse both (quay.io
    // answers a 500 that would be retried five times), so they stop here.
    if parsed
        .digest()
        .is_some_and(|digest| !is_sha256_digest(digest))
    {
        return Err(ReferenceError::BadDigest);
    }
    let name = spec.split_once('@').map_or(spec, |(name, _)| name);
    let last_component = name.rsplit('/').next().unwrap_or(name);
    let image = ImageRef {
        registry: parsed.registry().to_owned(),
        repository: parsed.repository().to_owned(),
        // oci-client answers `latest` for an untagged name; only a written tag counts.
        tag: last_component
            .contains(':')
            .then(|| parsed.tag().map(str::to_owned))
            .flatten(),
        digest: parsed.digest().map(str::to_owned),
        explicit_registry: has_registry_host(name),
    };
    let web_page_path = image
        .registry
        .eq_ignore_ascii_case("quay.io")
        .then(|| image.repository.strip_prefix("repository/"))
        .flatten();
    if let Some(rest) = web_page_path {
        let mut pull_spec = format!("quay.io/{rest}");
        if let Some(tag) = &image.tag {
            pull_spec = format!("{pull_spec}:{tag}");
        }
        return Err(ReferenceError::WebPage { pull_spec });
    }
    Ok(image)
}

/// `sha256:` and 64 lower-case hexadecimal digits, the only digest registries take.
fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The distribution/reference rule: the first component is a registry host when it has a `.`
/// or a `:` or is `localhost`; otherwise the whole name is a Docker Hub path.
fn has_registry_host(name: &str) -> bool {
    match name.split_once('/') {
        Some((first, _)) => first.contains(['.', ':']) || first == "localhost",
        None => false,
    }
}

fn explain(spec: &str, error: &oci_client::ParseError) -> ReferenceError {
    let (name, digest) = match spec.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (spec, None),
    };
    let path = if has_registry_host(name) {
        name.split_once('/').map_or("", |(_, path)| path)
    } else {
        name
    };
    let path = match path.rsplit_once('/') {
        Some((dirs, last)) => &path[..dirs.len() + 1 + last.find(':').unwrap_or(last.len())],
        None => &path[..path.find(':').unwrap_or(path.len())],
    };
    if path.chars().any(|c| c.is_ascii_uppercase()) {
        return ReferenceError::Uppercase;
    }
    if digest.is_some_and(|digest| !is_sha256_digest(digest)) {
        return ReferenceError::BadDigest;
    }
    let detail = match error {
        oci_client::ParseError::NameTooLong => "its repository name is longer than 255 characters",
        oci_client::ParseError::TagInvalidFormat => {
            "its tag is not 1 to 128 letters, digits, `_`, `.` or `-` (not starting with `.` or `-`)"
        }
        _ => "it does not match `[host[:port]/]path[:tag][@digest]`",
    };
    ReferenceError::Malformed(detail.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// (spec, normalized form, Docker Hub?, untagged?)
    #[test]
    fn normalizes_like_container_tools() {
        let digest_ref = format!("quay.io/a/b@{DIGEST}");
        let tag_and_digest = format!("quay.io/a/b:v1@{DIGEST}");
        let cases: &[(&str, &str, bool, bool)] = &[
            ("nginx", "docker.io/library/nginx", true, true),
            ("nginx:1.25", "docker.io/library/nginx:1.25", true, false),
            ("library/busybox", "docker.io/library/busybox", true, true),
            ("bitnami/redis:7", "docker.io/bitnami/redis:7", true, false),
            (
                "docker.io/nginx:1",
                "docker.io/library/nginx:1",
                true,
                false,
            ),
            ("index.docker.io/a/b:1", "docker.io/a/b:1", true, false),
            (
                "registry-1.docker.io/a/b:1",
                "registry-1.docker.io/a/b:1",
                true,
                false,
            ),
            (
                "registry.hub.docker.com/a/b:1",
                "registry.hub.docker.com/a/b:1",
                true,
                false,
            ),
            ("DOCKER.IO/a/b:1", "DOCKER.IO/a/b:1", true, false),
            ("quay.io/a/b:v1", "quay.io/a/b:v1", false, false),
            ("quay.io/a/b", "quay.io/a/b", false, true),
            ("localhost/a", "localhost/a", false, true),
            ("localhost:5000/a:1", "localhost:5000/a:1", false, false),
            ("registry:5000/a:1", "registry:5000/a:1", false, false),
            ("ghcr.io/a/b/c/d:e", "ghcr.io/a/b/c/d:e", false, false),
            (
                "quay.io/a/b:RELEASE.2025-09-07T16-13-09Z",
                "quay.io/a/b:RELEASE.2025-09-07T16-13-09Z",
                false,
                false,
            ),
            (&digest_ref, &digest_ref, false, false),
            (&tag_and_digest, &tag_and_digest, false, false),
        ];
        for &(spec, whole, hub, untagged) in cases {
            let image = parse_image(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
            assert_eq!(image.to_string(), whole, "{spec}");
            assert_eq!(image.is_docker_hub(), hub, "{spec}");
            assert_eq!(image.is_untagged(), untagged, "{spec}");
        }
    }

    #[test]
    fn says_why_a_reference_is_invalid() {
        let cases: &[(&str, ReferenceError)] = &[
            ("", ReferenceError::Empty),
            ("quay.io/a/b c", ReferenceError::Whitespace),
            ("quay.io/Foo/bar:1", ReferenceError::Uppercase),
            ("Nginx", ReferenceError::Uppercase),
            ("quay.io/a/b@sha256:abc", ReferenceError::BadDigest),
            (
                "quay.io/a/b@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                ReferenceError::BadDigest,
            ),
            (
                "quay.io/a/b@sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                ReferenceError::BadDigest,
            ),
            ("quay.io/a/b@md5:abc", ReferenceError::BadDigest),
            ("quay.io/a/b:t@", ReferenceError::BadDigest),
            (
                "quay.io/repository/openshift-knative/java-base-nonroot",
                ReferenceError::WebPage {
                    pull_spec: "quay.io/openshift-knative/java-base-nonroot".to_owned(),
                },
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(parse_image(spec).as_ref(), Err(expected), "{spec:?}");
        }
        for spec in ["quay.io/a/b:", "quay.io//b", "a:b:c", "quay.io/a/b:-x"] {
            assert!(
                matches!(parse_image(spec), Err(ReferenceError::Malformed(_))),
                "{spec:?} -> {:?}",
                parse_image(spec)
            );
        }
    }

    #[test]
    fn upper_case_tags_and_hosts_are_fine() {
        assert!(parse_image("QUAY.IO/a/b:TAG").is_ok());
    }
}
