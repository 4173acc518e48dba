//! `invalid-image-reference`: an `image:` that container tools cannot pull, or an imagestreamtag
//! that does not form a valid pull spec on the app.ci registry.

use super::Context;
use crate::config::model::{Body, Scalar, SourceRef};
use crate::diag::{Code, Diagnostic};
use crate::reference::{ImageRef, ReferenceError, parse_image};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for sourced in &cx.supplemental {
        match (&sourced.source, &sourced.image) {
            (Some(SourceRef::Image(image)), Some(Err(error))) => out.push(invalid(image, error)),
            (Some(SourceRef::Image(image)), Some(Ok(parsed)))
                if parsed.tag.is_some() && parsed.digest.is_some() =>
            {
                out.push(tag_ignored(image, parsed));
            }
            (
                Some(SourceRef::ImageStreamTag {
                    namespace,
                    name,
                    tag,
                }),
                _,
            ) => {
                check_istag(cx, namespace, name, tag, out);
            }
            _ => {}
        }
    }
    for item in cx.config.ignored_source_items() {
        check_body(cx, &item.body, out);
    }
}

fn check_body(cx: &Context<'_>, body: &Body, out: &mut Vec<Diagnostic>) {
    match body.source() {
        Some(SourceRef::Image(image)) => {
            if let Err(error) = parse_image(&image.value) {
                out.push(invalid(image, &error));
            }
        }
        Some(SourceRef::ImageStreamTag {
            namespace,
            name,
            tag,
        }) => {
            check_istag(cx, namespace, name, tag, out);
        }
        None => {}
    }
}

/// `name:tag@digest`: what is pulled, and so mirrored, is the digest; the tag is not looked at,
/// so a tag that moves on never moves the mirror.
fn tag_ignored(image: &Scalar, parsed: &ImageRef) -> Diagnostic {
    Diagnostic::warning(
        Code::InvalidImageReference,
        image.span,
        format!(
            "`{}` names both a tag and a digest: the digest is what is mirrored, and the tag `{}` is ignored",
            image.value,
            parsed.tag.as_deref().unwrap_or_default()
        ),
    )
    .with_help("keep only the digest to pin the image, or only the tag to follow it")
}

fn invalid(image: &Scalar, error: &ReferenceError) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::InvalidImageReference,
        image.span,
        format!("`{}` is not a valid pull spec: {error}", image.value),
    );
    match error {
        ReferenceError::WebPage { pull_spec } => {
            diagnostic.with_help(format!("write `image: {pull_spec}`"))
        }
        _ => diagnostic.with_help(
            "a pull spec is `registry.host/path/name:tag` or `registry.host/path/name@sha256:<digest>`",
        ),
    }
}

fn check_istag(
    cx: &Context<'_>,
    namespace: &Scalar,
    name: &Scalar,
    tag: &Scalar,
    out: &mut Vec<Diagnostic>,
) {
    let spec = cx
        .options
        .istag_pull_spec(&namespace.value, &name.value, &tag.value);
    let Err(error) = parse_image(&spec) else {
        return;
    };
    // Point at the part that breaks the pull spec, trying each with harmless others.
    let registry = &cx.options.istag_registry;
    let culprit = [
        (namespace, format!("{registry}/{}/x:x", namespace.value)),
        (name, format!("{registry}/x/{}:x", name.value)),
        (tag, format!("{registry}/x/x:{}", tag.value)),
    ]
    .into_iter()
    .find_map(|(field, alone)| parse_image(&alone).is_err().then_some(field))
    .unwrap_or(namespace);
    out.push(
        Diagnostic::error(
            Code::InvalidImageReference,
            culprit.span,
            format!(
                "the imagestreamtag `{}/{}:{}` does not form a valid pull spec (`{spec}`): {error}",
                namespace.value, name.value, tag.value
            ),
        )
        .with_help("imagestream namespaces and names are lower case; tags are letters, digits, `_`, `.` and `-`"),
    );
}
