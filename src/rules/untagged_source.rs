//! `untagged-source`: an `image:` with neither tag nor digest silently means `:latest`, which
//! changes under the mirror without any change to the config.

use super::Context;
use crate::config::model::SourceRef;
use crate::diag::{Code, Diagnostic};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (sourced, image) in cx.parsed_images() {
        // A Docker Hub source is already an error; one finding per problem is enough.
        if !image.is_untagged() || image.is_docker_hub() {
            continue;
        }
        let Some(SourceRef::Image(written)) = sourced.source else {
            continue;
        };
        out.push(
            Diagnostic::warning(
                Code::UntaggedSource,
                written.span,
                format!(
                    "`{}` has neither tag nor digest, so it silently means `{}:latest`",
                    written.value, written.value
                ),
            )
            .with_help("write the tag you mean (`:latest` if that is it), or pin a digest"),
        );
    }
}
