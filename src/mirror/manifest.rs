//! Just enough of a manifest to copy it: its kind, the digests it points at and, for an index,
//! the platform of each child. The bytes themselves are pushed as fetched, never re-serialised,
//! so digests never change.

use crate::registry::media::{OCI_INDEX, OCI_MANIFEST};

/// A content-addressed reference inside a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// The platform an index names for this child, if it names one.
    pub platform: Option<Platform>,
}

/// An operating system and CPU architecture, as an index or an image config states them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `windows`, … (buildkit attestations say `unknown`).
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v7`, `v8`, … for ARM.
    pub variant: Option<String>,
}

impl Platform {
    /// Reads `os`, `architecture` and `variant` from an index descriptor's `platform` or an
    /// image config, which spell them the same way; `None` when either of the first two is missing.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        Some(Platform {
            os: value["os"].as_str()?.to_owned(),
            architecture: value["architecture"].as_str()?.to_owned(),
            variant: value["variant"].as_str().map(str::to_owned),
        })
    }

    /// Whether this is the platform most CI clusters run.
    pub fn is_linux_amd64(&self) -> bool {
        self.os == "linux" && self.architecture == "amd64"
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// What a manifest is and what it references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manifest {
    /// An index or manifest list: child manifests, copied first.
    Index {
        /// Its media type, pushed back unchanged.
        media_type: String,
        /// The children.
        children: Vec<Descriptor>,
    },
    /// One image: its config and layers, copied first.
    Image {
        /// Its media type, pushed back unchanged.
        media_type: String,
        /// Config, then layers.
        blobs: Vec<Descriptor>,
    },
}

/// Why a fetched manifest cannot be copied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON at all.
    #[error("the manifest is not JSON: {0}")]
    NotJson(String),
    /// Docker schema 1.
    #[error(
        "Docker schema 1 manifests are not supported (deprecated and unsigned copies change their digest); rebuild or re-push the image"
    )]
    SchemaOne,
    /// A list of descriptors that is not a list.
    #[error("a descriptor list is not a list")]
    NotAList,
    /// A descriptor without the field named.
    #[error("a descriptor has no {0}")]
    Incomplete(&'static str),
    /// Neither an index nor an image manifest.
    #[error("unsupported manifest (media type {0})")]
    Unsupported(String),
}

/// Reads a fetched manifest. Schema 1 and unknown kinds are errors, never silent skips.
pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::NotJson(e.to_string()))?;
    if value["schemaVersion"] == 1 {
        return Err(ManifestError::SchemaOne);
    }
    let descriptors = |items: &serde_json::Value| -> Result<Vec<Descriptor>, ManifestError> {
        items
            .as_array()
            .ok_or(ManifestError::NotAList)?
            .iter()
            .map(descriptor)
            .collect()
    };
    // OCI manifests may omit `mediaType` (gap 7 in registries.md): infer it from the shape.
    let declared = value["mediaType"].as_str();
    if !value["manifests"].is_null() {
        return Ok(Manifest::Index {
            media_type: declared.unwrap_or(OCI_INDEX).to_owned(),
            children: descriptors(&value["manifests"])?,
        });
    }
    if !value["config"].is_null() {
        let mut blobs = vec![descriptor(&value["config"])?];
        if !value["layers"].is_null() {
            blobs.extend(descriptors(&value["layers"])?);
        }
        return Ok(Manifest::Image {
            media_type: declared.unwrap_or(OCI_MANIFEST).to_owned(),
            blobs,
        });
    }
    Err(ManifestError::Unsupported(
        declared.unwrap_or("not given").to_owned(),
    ))
}

fn descriptor(value: &serde_json::Value) -> Result<Descriptor, ManifestError> {
    let digest = value["digest"]
        .as_str()
        .ok_or(ManifestError::Incomplete("digest"))?
        .to_owned();
    let size = value["size"]
        .as_u64()
        .ok_or(ManifestError::Incomplete("size"))?;
    Ok(Descriptor {
        digest,
        size,
        platform: Platform::from_json(&value["platform"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::media::DOCKER_LIST;

    #[test]
    fn kinds_are_told_apart_and_schema1_refused() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"digest":"sha256:a","size":3},{"digest":"sha256:b","size":4,"platform":{"os":"linux","architecture":"arm","variant":"v7"}}]}"#;
        let arm = Platform {
            os: "linux".into(),
            architecture: "arm".into(),
            variant: Some("v7".into()),
        };
        assert_eq!(
            parse(index).unwrap(),
            Manifest::Index {
                media_type: DOCKER_LIST.to_owned(),
                children: vec![
                    Descriptor {
                        digest: "sha256:a".into(),
                        size: 3,
                        platform: None,
                    },
                    Descriptor {
                        digest: "sha256:b".into(),
                        size: 4,
                        platform: Some(arm.clone()),
                    },
                ],
            }
        );
        assert_eq!(arm.to_string(), "linux/arm/v7");
        assert!(!arm.is_linux_amd64());
        let image = br#"{"schemaVersion":2,"config":{"digest":"sha256:c","size":1},"layers":[{"digest":"sha256:l","size":2}]}"#;
        assert_eq!(
            parse(image).unwrap(),
            Manifest::Image {
                media_type: OCI_MANIFEST.to_owned(),
                blobs: vec![
                    Descriptor {
                        digest: "sha256:c".into(),
                        size: 1,
                        platform: None,
                    },
                    Descriptor {
                        digest: "sha256:l".into(),
                        size: 2,
                        platform: None,
                    },
                ],
            }
        );
        assert_eq!(
            parse(br#"{"schemaVersion":1,"fsLayers":[]}"#),
            Err(ManifestError::SchemaOne)
        );
        assert_eq!(
            parse(b"{}"),
            Err(ManifestError::Unsupported("not given".to_owned()))
        );
        assert!(matches!(parse(b"not json"), Err(ManifestError::NotJson(_))));
    }
}
