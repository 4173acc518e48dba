//! `invalid-art-image`: an `artImages` item needs the imagestream `namespace` and a `name`
//! regular expression, as ci-images-mirror requires.

use super::Context;
use crate::diag::{Code, Diagnostic};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for item in cx.config.art_image_items() {
        if matches!(item.body, crate::config::model::Body::Other(_)) {
            continue; // `wrong-type` covers it.
        }
        for (field, meaning) in [
            ("namespace", "the app.ci namespace of the imagestreams"),
            ("name", "a regular expression for imagestream names"),
        ] {
            if item.body.text(field).is_none() && !super::has_misspelling_of(&item.body, field) {
                out.push(
                    Diagnostic::error(
                        Code::InvalidArtImage,
                        item.span,
                        format!("this `artImages` item has no `{field}`"),
                    )
                    .with_help(format!("set `{field}`: {meaning}")),
                );
            }
        }
    }
}
