//! The tags one ci-operator config promotes, computed as ci-operator computes them.
//!
//! Facts from openshift/ci-tools (read, not copied):
//! - `pkg/steps/release/promote.go` `PromotedTagsWithRequiredImages`/`toPromote`: a disabled
//!   target promotes nothing; every image in `images` whose `optional` is false is promoted under
//!   its `to` name; `excluded_images` removes names (`*` removes all of them,
//!   `api.PromotionExcludeImageWildcard`), then `additional_images` adds its keys (the value is
//!   the pipeline source, which does not matter for the target). With a target `name`, the tag
//!   is `namespace/name:<image>`; otherwise `namespace/<image>:tag`. `tag_by_commit` adds a tag
//!   named after the commit being built, which no static config names, so it is left out (the
//!   incumbent's `PromotedTags` passes no commit either).
//! - The same function promotes the build cache when `binary_build_commands` is set and
//!   `promotion.disable_build_cache` is not: `pkg/api/metadata.go` `BuildCacheFor` names it
//!   `build-cache/<org>-<repo>:<branch>`, `-<variant>` appended to the tag when there is one,
//!   from the config's own `zz_generated_metadata` (the loader in `pkg/config/load.go` does not
//!   replace it with what the path says).
//! - `pkg/api/types.go`: `promotion.to` is the list of targets. Older ci-tools also read a
//!   single target written directly under `promotion` (`pkg/api/promotion.go`
//!   `PromotionTargets` adapted it when its `namespace` was set); today's returns `Targets`
//!   alone, so such a file promotes no image, only its build cache, and it is read that way:
//!   the verdict is the consumer's of today.
//! - `images` is a list, or in newer configs a mapping whose `items` is that list
//!   (ci-tools `c.Images.Items`; openshift/release `openshift-oc-release-5.2.yaml`).

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// The parts of a ci-operator config that decide what it promotes; everything else is skipped
/// unread by the parser.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CiOperatorConfig {
    #[serde(default)]
    images: Images,
    #[serde(default)]
    promotion: Option<Promotion>,
    #[serde(default)]
    binary_build_commands: Option<String>,
    #[serde(default)]
    zz_generated_metadata: Option<Metadata>,
}

#[derive(Debug, Default, Deserialize)]
struct Image {
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    optional: Option<bool>,
}

/// `images`, whichever of its two shapes the file uses.
#[derive(Debug, Default)]
struct Images(Vec<Image>);

#[derive(Debug, Default, Deserialize)]
struct PromotionTarget {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    excluded_images: Option<Vec<String>>,
    #[serde(default)]
    additional_images: Option<BTreeMap<String, String>>,
    #[serde(default)]
    disabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct Promotion {
    #[serde(default)]
    to: Option<Vec<PromotionTarget>>,
    #[serde(default)]
    disable_build_cache: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    repo: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    variant: Option<String>,
}

/// Where in the file a promoted tag comes from, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stanza {
    Promotion,
    BinaryBuildCommands,
}

/// The `namespace/name:tag` of every tag `config` promotes, with the stanza that promotes it.
pub(super) fn promoted_tags(config: &CiOperatorConfig) -> Vec<(String, Stanza)> {
    let Some(promotion) = &config.promotion else {
        // No promotion configuration: ci-operator promotes nothing, not even the build cache.
        return Vec::new();
    };
    let mut tags: Vec<(String, Stanza)> = targets(promotion)
        .flat_map(|target| target_tags(&target, &config.images.0))
        .map(|tag| (tag, Stanza::Promotion))
        .collect();
    let builds_binaries = config
        .binary_build_commands
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    if builds_binaries && !promotion.disable_build_cache.unwrap_or(false) {
        tags.extend(
            config
                .zz_generated_metadata
                .as_ref()
                .and_then(build_cache_tag)
                .map(|tag| (tag, Stanza::BinaryBuildCommands)),
        );
    }
    tags
}

/// A target borrowed from either shape.
struct TargetRef<'a> {
    namespace: &'a str,
    name: &'a str,
    tag: &'a str,
    excluded: &'a [String],
    additional: Option<&'a BTreeMap<String, String>>,
    disabled: bool,
}

/// The targets ci-operator promotes to: only those listed under `promotion.to`. Older
/// ci-tools also read a single target written directly under `promotion`; today's
/// `api.PromotionTargets` returns `Targets` alone, so such a config promotes no image (only
/// its build cache) and its tags are not ci-operator's to protect.
fn targets(promotion: &Promotion) -> impl Iterator<Item = TargetRef<'_>> {
    promotion.to.iter().flatten().map(move |t| TargetRef {
        namespace: text(&t.namespace),
        name: text(&t.name),
        tag: text(&t.tag),
        excluded: t.excluded_images.as_deref().unwrap_or_default(),
        additional: t.additional_images.as_ref(),
        disabled: t.disabled.unwrap_or(false),
    })
}

fn target_tags(target: &TargetRef<'_>, images: &[Image]) -> Vec<String> {
    if target.disabled {
        return Vec::new();
    }
    let mut names: Vec<&str> = if target.excluded.iter().any(|e| e == "*") {
        Vec::new()
    } else {
        images
            .iter()
            .filter(|image| !image.optional.unwrap_or(false))
            .filter_map(|image| image.to.as_deref())
            .filter(|to| !target.excluded.iter().any(|e| e == to))
            .collect()
    };
    names.extend(
        target
            .additional
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str)),
    );
    names
        .into_iter()
        .map(|image| {
            if target.name.is_empty() {
                format!("{}/{image}:{}", target.namespace, target.tag)
            } else {
                format!("{}/{}:{image}", target.namespace, target.name)
            }
        })
        .collect()
}

fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn build_cache_tag(metadata: &Metadata) -> Option<String> {
    let (org, repo, branch) = (
        given(&metadata.org)?,
        given(&metadata.repo)?,
        given(&metadata.branch)?,
    );
    Some(match given(&metadata.variant) {
        Some(variant) => format!("build-cache/{org}-{repo}:{branch}-{variant}"),
        None => format!("build-cache/{org}-{repo}:{branch}"),
    })
}

impl<'de> Deserialize<'de> for Images {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ImagesVisitor)
    }
}

struct ImagesVisitor;

impl<'de> Visitor<'de> for ImagesVisitor {
    type Value = Images;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of images, or a mapping with `items`")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Images, E> {
        Ok(Images::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Images, E> {
        Ok(Images::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Images, A::Error> {
        let mut images = Vec::new();
        while let Some(image) = seq.next_element::<Image>()? {
            images.push(image);
        }
        Ok(Images(images))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Images, A::Error> {
        let mut images = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                images = map.next_value::<Option<Vec<Image>>>()?.unwrap_or_default();
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Images(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn promoted(yaml: &str) -> Vec<String> {
        let config: CiOperatorConfig = serde_saphyr::from_str(yaml).unwrap();
        let mut tags: Vec<String> = promoted_tags(&config).into_iter().map(|(t, _)| t).collect();
        tags.sort();
        tags
    }

    const IMAGES: &str = "images:\n- to: cli\n- to: tools\n- to: tests\n  optional: true\n";

    #[test]
    fn name_form_promotes_each_image_as_a_tag_of_one_stream() {
        let yaml = format!("{IMAGES}promotion:\n  to:\n  - name: \"4.21\"\n    namespace: ocp\n");
        assert_eq!(promoted(&yaml), ["ocp/4.21:cli", "ocp/4.21:tools"]);
    }

    #[test]
    fn tag_form_promotes_each_image_as_its_own_stream() {
        let yaml = format!("{IMAGES}promotion:\n  to:\n  - namespace: ci\n    tag: latest\n");
        assert_eq!(promoted(&yaml), ["ci/cli:latest", "ci/tools:latest"]);
    }

    #[test]
    fn a_single_target_directly_under_promotion_promotes_no_image_as_today() {
        let yaml = format!("{IMAGES}promotion:\n  namespace: ci\n  tag: latest-arm64\n");
        assert!(promoted(&yaml).is_empty(), "{:?}", promoted(&yaml));
    }

    #[test]
    fn excluded_images_go_before_additional_images_come() {
        let yaml = format!(
            "{IMAGES}promotion:\n  to:\n  - additional_images:\n      oc-rpms: rpms\n      cli: tools\n    excluded_images:\n    - cli\n    - tools\n    name: \"4.21\"\n    namespace: ocp\n"
        );
        assert_eq!(promoted(&yaml), ["ocp/4.21:cli", "ocp/4.21:oc-rpms"]);
    }

    #[test]
    fn the_wildcard_excludes_every_image() {
        let yaml = format!(
            "{IMAGES}promotion:\n  to:\n  - additional_images:\n      latest: cli-ocm\n    excluded_images:\n    - \"*\"\n    name: cli-ocm\n    namespace: ci\n"
        );
        assert_eq!(promoted(&yaml), ["ci/cli-ocm:latest"]);
    }

    #[test]
    fn a_disabled_target_promotes_nothing_and_the_others_still_do() {
        let yaml = format!(
            "{IMAGES}promotion:\n  to:\n  - disabled: true\n    name: \"4.22\"\n    namespace: ocp\n  - namespace: ci\n    tag: latest\n"
        );
        assert_eq!(promoted(&yaml), ["ci/cli:latest", "ci/tools:latest"]);
    }

    #[test]
    fn binary_build_commands_promote_the_build_cache_named_by_the_metadata() {
        let yaml = "binary_build_commands: make build\npromotion:\n  to:\n  - namespace: ci\n    tag: latest\nzz_generated_metadata:\n  branch: master\n  org: openshift\n  repo: ci-tools\n  variant: arm64\n";
        assert_eq!(
            promoted(yaml),
            ["build-cache/openshift-ci-tools:master-arm64"]
        );
        let plain = yaml.replace("  variant: arm64\n", "");
        assert_eq!(promoted(&plain), ["build-cache/openshift-ci-tools:master"]);
        let disabled = yaml.replace("promotion:\n", "promotion:\n  disable_build_cache: true\n");
        assert!(promoted(&disabled).is_empty());
    }

    #[test]
    fn without_promotion_nothing_is_promoted_not_even_the_build_cache() {
        let yaml = format!(
            "{IMAGES}binary_build_commands: make\nzz_generated_metadata:\n  branch: main\n  org: o\n  repo: r\n"
        );
        assert!(promoted(&yaml).is_empty());
    }

    #[test]
    fn images_may_be_a_mapping_with_items() {
        let yaml = "images:\n  items:\n  - to: cli\n  other: 1\npromotion:\n  to:\n  - name: \"5.2\"\n    namespace: ocp\n";
        assert_eq!(promoted(yaml), ["ocp/5.2:cli"]);
    }
}
