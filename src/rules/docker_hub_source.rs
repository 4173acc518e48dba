//! `docker-hub-source`: Docker Hub rate-limits pulls and broke CI when images came from it, so
//! no source may be there, however it is spelled (openshift/release#36149).

use super::Context;
use crate::config::model::SourceRef;
use crate::diag::{Code, Diagnostic};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (sourced, image) in cx.parsed_images() {
        if !image.is_docker_hub() {
            continue;
        }
        let Some(SourceRef::Image(written)) = sourced.source else {
            continue;
        };
        let message = if image.explicit_registry {
            format!(
                "`{}` is on Docker Hub, which cannot be mirrored",
                written.value
            )
        } else {
            format!(
                "`{}` names no registry, so it means Docker Hub (`{image}`), which cannot be mirrored",
                written.value
            )
        };
        out.push(
            Diagnostic::error(Code::DockerHubSource, written.span, message).with_help(
                "Docker Hub rate-limits pulls: push the image to quay.io (or another registry) and mirror it from there",
            ),
        );
    }
}
