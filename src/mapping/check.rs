//! What is wrong with a mapping file, line by line: the config's own rules where they apply
//! (Docker Hub, invalid pull specs, untagged sources) and the format's (a target per line, in
//! the file's namespace, each named once, not also defined in `_config.yaml`).

use super::{APP_CI_REGISTRY, MappingFile, MappingLine, Word};
use crate::config::model::Config;
use crate::diag::{Code, Diagnostic, printable};
use crate::qci::{parse_target, render_qci_tag};
use crate::reference::{ImageRef, parse_image};
use crate::rules::Options;
use std::collections::HashMap;

/// A `supplementalCIImages` key defined in a config: where, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defined {
    /// The key, `namespace/name:tag`.
    pub key: String,
    /// The config's path.
    pub path: String,
    /// The key's line.
    pub line: u32,
    /// Its source as a pull spec, when it has one.
    pub source: Option<String>,
}

/// The `supplementalCIImages` keys `config` (the file at `path`) defines.
pub fn defined_in(config: &Config, path: &str, options: &Options) -> Vec<Defined> {
    config
        .supplemental_entries()
        .map(|entry| Defined {
            key: entry.key.value.clone(),
            path: path.to_owned(),
            line: entry.key.span.line,
            source: entry.body.source().map(|s| options.source_pull_spec(s)),
        })
        .collect()
}

/// Every finding of `mapping` that needs no other file.
pub fn check(mapping: &MappingFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut first_use: HashMap<&str, u32> = HashMap::new();
    for line in &mapping.lines {
        check_source(&line.source, &mut out);
        if line.targets.is_empty() {
            out.push(
                Diagnostic::error(
                    Code::MappingSyntax,
                    line.source.span,
                    format!(
                        "`{}` has no target: a mapping line is `SOURCE TARGET [TARGET…]`",
                        printable(&line.source.text)
                    ),
                )
                .with_help("add the target, or delete the line"),
            );
        }
        for target in &line.targets {
            check_target(mapping, line, target, &mut out);
            match first_use.get(target.text.as_str()) {
                Some(&earlier) => out.push(
                    Diagnostic::error(
                        Code::MappingDuplicateTarget,
                        target.span,
                        format!(
                            "`{}` is already a target on line {earlier}; `oc image mirror` refuses a target named twice",
                            printable(&target.text)
                        ),
                    )
                    .with_help("keep one of the two lines"),
                ),
                None => {
                    first_use.insert(&target.text, target.span.line);
                }
            }
        }
    }
    out
}

fn check_source(source: &Word, out: &mut Vec<Diagnostic>) {
    match parse_image(&source.text) {
        Err(error) => out.push(Diagnostic::error(
            Code::InvalidImageReference,
            source.span,
            format!("`{}` is not a valid pull spec: {error}", printable(&source.text)),
        )),
        Ok(image) if image.is_docker_hub() => out.push(
            Diagnostic::error(
                Code::DockerHubSource,
                source.span,
                format!("`{}` is on Docker Hub (`{image}`), which cannot be mirrored", printable(&source.text)),
            )
            .with_help(
                "Docker Hub rate-limits pulls: push the image to quay.io (or another registry) and mirror it from there",
            ),
        ),
        Ok(image) if image.is_untagged() => out.push(
            Diagnostic::warning(
                Code::UntaggedSource,
                source.span,
                format!(
                    "`{}` has neither tag nor digest, so it silently means `{}:latest`",
                    printable(&source.text), printable(&source.text)
                ),
            )
            .with_help("write the tag you mean (`:latest` if that is it), or pin a digest"),
        ),
        Ok(_) => {}
    }
}

fn check_target(
    mapping: &MappingFile,
    line: &MappingLine,
    target: &Word,
    out: &mut Vec<Diagnostic>,
) {
    let image = match parse_image(&target.text) {
        Ok(image) => image,
        Err(error) => {
            out.push(Diagnostic::error(
                Code::InvalidImageReference,
                target.span,
                format!(
                    "`{}` is not a valid pull spec: {error}",
                    printable(&target.text)
                ),
            ));
            return;
        }
    };
    if target.text == line.source.text {
        out.push(Diagnostic::error(
            Code::MappingSyntax,
            target.span,
            format!(
                "`{}` is both the source and a target of this line",
                printable(&target.text)
            ),
        ));
    }
    let Some(namespace) = &mapping.namespace else {
        return;
    };
    if !in_namespace(&image, namespace) {
        out.push(
            Diagnostic::error(
                Code::MappingTargetNamespace,
                target.span,
                format!(
                    "`{}` is outside this file's namespace: a `mapping_supplemental_ci_images_{}` file mirrors only into `{APP_CI_REGISTRY}/{namespace}/…`",
                    printable(&target.text),
                    namespace.replace('-', "_")
                ),
            )
            .with_help(format!(
                "move the line to the file of the target's namespace, or target `{APP_CI_REGISTRY}/{namespace}/…`"
            )),
        );
    }
}

fn in_namespace(image: &ImageRef, namespace: &str) -> bool {
    image.registry == APP_CI_REGISTRY
        && image
            .repository
            .split_once('/')
            .is_some_and(|(ns, _)| ns == namespace)
}

/// The `_config.yaml` key a target on app.ci stands for: `ns/name:tag` for
/// `registry.ci.openshift.org/ns/name:tag`.
pub fn config_key(target: &str) -> Option<String> {
    let image = parse_image(target).ok()?;
    if image.registry != APP_CI_REGISTRY || image.digest.is_some() {
        return None;
    }
    let key = format!("{}:{}", image.repository, image.tag.as_deref()?);
    parse_target(&key).is_ok().then_some(key)
}

/// Targets of `mapping` that a config defines too (the same key, or a key rendering the same
/// QCI tag): two definitions of one image, mirrored by two systems.
pub fn defined_elsewhere(mapping: &MappingFile, defined: &[Defined]) -> Vec<Diagnostic> {
    let by_tag: HashMap<String, &Defined> = defined
        .iter()
        .map(|d| (render_qci_tag(&d.key), d))
        .collect();
    let mut out = Vec::new();
    for line in &mapping.lines {
        for target in &line.targets {
            let Some(key) = config_key(&target.text) else {
                continue;
            };
            let Some(other) = by_tag.get(&render_qci_tag(&key)) else {
                continue;
            };
            let alias = if other.key == key {
                String::new()
            } else {
                format!(
                    " as `{}` (the same QCI tag `{}`)",
                    other.key,
                    render_qci_tag(&key)
                )
            };
            let place = format!("`{}` line {}{alias}", printable(&other.path), other.line);
            let same_source = other
                .source
                .as_deref()
                .is_some_and(|source| same_image(source, &line.source.text));
            out.push(if same_source {
                // Migrated already: the line only repeats the entry.
                Diagnostic::warning(
                    Code::MappingTargetDefined,
                    target.span,
                    format!(
                        "`{}` is also defined in {place}, from the same source: this line is a leftover",
                        printable(&target.text)
                    ),
                )
                .with_help("delete this line; the `_config.yaml` entry mirrors the image")
            } else {
                Diagnostic::error(
                    Code::MappingTargetDefined,
                    target.span,
                    format!(
                        "`{}` is also defined in {place}, from another source (`{}`): two systems would mirror different images to one tag",
                        printable(&target.text),
                        other
                            .source
                            .as_deref()
                            .map_or("an imagestreamtag".to_owned(), printable)
                    ),
                )
                .with_help("keep the `_config.yaml` entry and delete this line")
            });
        }
    }
    out
}

/// Whether two pull specs name the same image once normalized (`docker.io/library/…` and
/// the like), or are the same text.
pub(crate) fn same_image(a: &str, b: &str) -> bool {
    match (parse_image(a), parse_image(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::parse;
    use crate::source::SourceFile;

    fn findings(name: &str, text: &str) -> Vec<String> {
        let mapping = parse(&SourceFile::new(name, text.to_owned()));
        check(&mapping)
            .iter()
            .map(|d| format!("{}:{} {}", d.span.line, d.span.column, d.code))
            .collect()
    }

    #[test]
    fn each_kind_of_line_problem_is_found_where_it_is() {
        let text = "\
quay.io/a/b:1 registry.ci.openshift.org/ci/b:1
docker.io/x/y:1 registry.ci.openshift.org/ci/y:1
quay.io/a/c registry.ci.openshift.org/ci/c:1
quay.io/repository/a/d registry.ci.openshift.org/ci/d:1
quay.io/a/e:1 registry.ci.openshift.org/other/e:1
quay.io/a/f:1 registry.ci.openshift.org/ci/b:1
quay.io/a/g:1
";
        assert_eq!(
            findings("mapping_supplemental_ci_images_ci", text),
            [
                "2:1 docker-hub-source",
                "3:1 untagged-source",
                "4:1 invalid-image-reference",
                "5:15 mapping-target-namespace",
                "6:15 mapping-duplicate-target",
                "7:1 mapping-syntax",
            ]
        );
        // Outside supplemental files there is no namespace rule.
        assert_eq!(
            findings(
                "mapping_origin_x",
                "quay.io/openshift/ci:a quay.io/openshift/a:1 quay.io/openshift/a:1.0\n"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn targets_map_to_config_keys_and_collisions_name_the_other_file() {
        assert_eq!(
            config_key("registry.ci.openshift.org/ci/boskos:latest").as_deref(),
            Some("ci/boskos:latest")
        );
        assert_eq!(config_key("quay.io/openshift/a:1"), None);
        assert_eq!(config_key("registry.ci.openshift.org/ci/boskos"), None);
        let mapping = parse(&SourceFile::new(
            "mapping_supplemental_ci_images_ci",
            "gcr.io/a/boskos:latest registry.ci.openshift.org/ci/boskos:latest\n".to_owned(),
        ));
        let defined = |source: &str| {
            [Defined {
                key: "ci/boskos:latest".to_owned(),
                path: "_config.yaml".to_owned(),
                line: 12,
                source: Some(source.to_owned()),
            }]
        };
        let leftover = defined_elsewhere(&mapping, &defined("gcr.io/a/boskos:latest"));
        assert_eq!(leftover.len(), 1);
        assert_eq!(leftover[0].severity, crate::diag::Severity::Warning);
        assert!(
            leftover[0]
                .message
                .ends_with("from the same source: this line is a leftover")
        );
        let conflict = defined_elsewhere(&mapping, &defined("quay.io/b/boskos:v2"));
        assert_eq!(conflict[0].severity, crate::diag::Severity::Error);
        assert_eq!(
            conflict[0].message,
            "`registry.ci.openshift.org/ci/boskos:latest` is also defined in `_config.yaml` line 12, from another source (`quay.io/b/boskos:v2`): two systems would mirror different images to one tag"
        );
    }
}
