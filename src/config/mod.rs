//! Loading `_config.yaml`: YAML text → [`model::Config`] with positions, plus the diagnostics
//! for text that cannot be read as YAML at all.

pub mod model;
mod raw;

use crate::diag::{Code, Diagnostic};
use crate::source::{SourceFile, Span};
use model::{
    ART_IMAGES, Body, Config, Entry, Field, IGNORED_SOURCES, Item, Kind, QCI_TO_APP_CI_IMAGES,
    SUPPLEMENTAL_CI_IMAGES, Scalar, Section, SectionBody, Style, TOP_LEVEL_KEYS, Value,
};
use raw::RawNode;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Location, Spanned};

/// Parses `file` into the config model. A file that is not YAML yields an empty model and one
/// diagnostic with the parser's position; it never panics and its cost is bounded by the budget.
pub fn load(file: &SourceFile) -> (Config, Vec<Diagnostic>) {
    match serde_saphyr::from_str_with_options::<Spanned<RawNode>>(&file.text, parse_options(file)) {
        Ok(document) => (build(file, document), Vec::new()),
        Err(error) => (Config::default(), vec![parse_error(&error)]),
    }
}

fn parse_options(file: &SourceFile) -> serde_saphyr::Options {
    // The default budget (250k nodes, 1M events) stops alias bombs but also a legitimate 100k-entry
    // config. Without aliases a node costs at least a few bytes of input, so budgets that grow
    // with the input keep large real files working while expansion stays bounded by the file size.
    let len = file.text.len();
    let budget = serde_saphyr::budget! {
        max_nodes: 250_000usize.max(len / 4),
        max_events: 1_000_000usize.max(len / 2),
    };
    serde_saphyr::options! {
        budget: budget,
        // Repeated keys reach our visitor so that every one becomes a `duplicate-key` diagnostic
        // pointing at both places, instead of the parser stopping at the first.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
    }
}

fn parse_error(error: &serde_saphyr::Error) -> Diagnostic {
    let span = error.location().map_or(Span::new(1, 1, 1), |l| span_of(&l));
    let text = error.without_snippet().to_string();
    // serde-saphyr appends the position in prose; we print positions in our own format.
    let message = text
        .find(" at line ")
        .map_or(text.as_str(), |at| &text[..at])
        .trim();
    if let Some(breach) = budget_breach(error) {
        return Diagnostic::error(
            Code::YamlTooComplex,
            span,
            format!(
                "the document expands past what the YAML parser allows ({})",
                describe_breach(breach)
            ),
        )
        .with_help("anchors and aliases that expand many times (an \"alias bomb\") are not allowed in a config");
    }
    // The parser reports its nesting limit only as text (granit-parser's
    // `RecursionLimitExceeded`, passed on as an external message).
    if message.contains("recursion limit") {
        return Diagnostic::error(
            Code::YamlTooComplex,
            span,
            "the document is nested deeper than the YAML parser allows",
        );
    }
    if matches!(
        unwrapped(error),
        serde_saphyr::Error::MultipleDocuments { .. }
    ) {
        return Diagnostic::error(
            Code::YamlSyntax,
            span,
            "the file holds more than one YAML document; a config is a single document",
        )
        .with_help("remove the `---` separator and merge the documents");
    }
    Diagnostic::error(Code::YamlSyntax, span, format!("invalid YAML: {message}"))
}

/// `error` without the wrappers that add context (a snippet, the alias it came through).
fn unwrapped(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::AliasError { error: inner, .. }
    | serde_saphyr::Error::WithSnippet { error: inner, .. } = error
    {
        error = inner;
    }
    error
}

/// The resource budget `error` breached, if that is what it is.
fn budget_breach(error: &serde_saphyr::Error) -> Option<&BudgetBreach> {
    match unwrapped(error) {
        serde_saphyr::Error::Budget { breach, .. } => Some(breach),
        _ => None,
    }
}

/// `Nodes { nodes: 250001 }` → `250001 nodes`: the breach in words.
fn describe_breach(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Nodes { nodes } => format!("{nodes} nodes"),
        BudgetBreach::Events { events } => format!("{events} events"),
        BudgetBreach::Aliases { aliases } => format!("{aliases} aliases"),
        BudgetBreach::Anchors { anchors } => format!("{anchors} anchors"),
        BudgetBreach::Depth { depth } => format!("{depth} levels deep"),
        BudgetBreach::Documents { documents } => format!("{documents} documents"),
        BudgetBreach::ScalarBytes { total_scalar_bytes } => {
            format!("{total_scalar_bytes} bytes of scalars")
        }
        BudgetBreach::MergeKeys { merge_keys } => format!("{merge_keys} merge keys"),
        // Limits a config cannot reach with our options (includes, comments), or added later.
        _ => "a resource limit".to_owned(),
    }
}

fn span_of(location: &Location) -> Span {
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Span::new(
        narrow(location.line()),
        narrow(location.column()),
        narrow(location.span().len()),
    )
}

fn kind_of(node: &RawNode) -> Kind {
    match node {
        RawNode::Null => Kind::Null,
        RawNode::Scalar(_) => Kind::Scalar,
        RawNode::Seq(_) => Kind::Sequence,
        RawNode::Map(_) => Kind::Mapping,
    }
}

fn build(file: &SourceFile, document: Spanned<RawNode>) -> Config {
    let mut config = Config::default();
    let top = match document.value {
        RawNode::Map(top) => top,
        RawNode::Null => return config,
        other => {
            config.top_level_kind = Some((kind_of(&other), span_of(&document.referenced)));
            return config;
        }
    };
    for (key, value) in top {
        let key = key_scalar(file, key);
        // ci-images-mirror reads section names in any case, as it reads field names.
        let section = TOP_LEVEL_KEYS
            .iter()
            .find(|known| **known == key.value)
            .or_else(|| {
                TOP_LEVEL_KEYS
                    .iter()
                    .find(|known| model::go_name_matches(&key.value, known))
            });
        match section.copied().unwrap_or_default() {
            SUPPLEMENTAL_CI_IMAGES => {
                config
                    .supplemental
                    .push(map_section(file, key.clone(), value))
            }
            QCI_TO_APP_CI_IMAGES => {
                config
                    .qci_to_app_ci
                    .push(map_section(file, key.clone(), value))
            }
            IGNORED_SOURCES => config
                .ignored_sources
                .push(list_section(file, key.clone(), value)),
            ART_IMAGES => config
                .art_images
                .push(list_section(file, key.clone(), value)),
            _ => {}
        }
        config.top_keys.push(key);
    }
    config
}

fn map_section(file: &SourceFile, key: Scalar, value: Spanned<RawNode>) -> Section<Entry> {
    section(key, value, |node| match node {
        RawNode::Map(entries) => Ok(entries
            .into_iter()
            .map(|(key, value)| Entry {
                key: key_scalar(file, key),
                body_span: span_of(&value.referenced),
                body: body(file, value.value),
            })
            .collect()),
        other => Err(other),
    })
}

fn list_section(file: &SourceFile, key: Scalar, value: Spanned<RawNode>) -> Section<Item> {
    section(key, value, |node| match node {
        RawNode::Seq(items) => Ok(items
            .into_iter()
            .map(|item| Item {
                span: span_of(&item.referenced),
                body: body(file, item.value),
            })
            .collect()),
        other => Err(other),
    })
}

/// A section whose value `items` turns into entries, or hands back when it is the wrong kind.
fn section<T>(
    key: Scalar,
    value: Spanned<RawNode>,
    items: impl FnOnce(RawNode) -> Result<Vec<T>, RawNode>,
) -> Section<T> {
    let body = match value.value {
        RawNode::Null => SectionBody::Null,
        node => match items(node) {
            Ok(items) => SectionBody::Items(items),
            Err(other) => SectionBody::Wrong(kind_of(&other)),
        },
    };
    Section {
        key,
        body_span: span_of(&value.referenced),
        body,
    }
}

fn body(file: &SourceFile, node: RawNode) -> Body {
    match node {
        RawNode::Null => Body::Null,
        RawNode::Map(fields) => Body::Mapping(
            fields
                .into_iter()
                .map(|(name, value)| {
                    let name = key_scalar(file, name);
                    let value_span = match value.value {
                        // An empty value has no text of its own; point at the field name.
                        RawNode::Null if value.referenced.span().is_empty() => name.span,
                        _ => span_of(&value.referenced),
                    };
                    let value = match value.value {
                        RawNode::Null => Value::Null,
                        RawNode::Scalar(ref decoded) => Value::Scalar(scalar(
                            file,
                            decoded.clone(),
                            &value.defined,
                            &value.referenced,
                        )),
                        RawNode::Seq(_) => Value::Collection(Kind::Sequence),
                        RawNode::Map(_) => Value::Collection(Kind::Mapping),
                    };
                    Field {
                        name,
                        value_span,
                        value,
                    }
                })
                .collect(),
        ),
        other => Body::Other(kind_of(&other)),
    }
}

fn key_scalar(file: &SourceFile, key: Spanned<String>) -> Scalar {
    let style = style_at(file, &key.defined);
    let span = span_of(&key.referenced);
    let verbatim_column = verbatim_column(file, &key.value, &key.defined, &key.referenced);
    Scalar {
        value: key.value,
        span,
        style,
        verbatim_column,
    }
}

fn scalar(
    file: &SourceFile,
    decoded: Option<String>,
    defined: &Location,
    referenced: &Location,
) -> Scalar {
    let literal = || literal_at(file, defined).unwrap_or_default().to_owned();
    let value = decoded.unwrap_or_else(literal);
    Scalar {
        verbatim_column: verbatim_column(file, &value, defined, referenced),
        value,
        span: span_of(referenced),
        style: style_at(file, defined),
    }
}

/// Where `value` starts in the file when its source text is the value itself, or the value in
/// quotes. Equal text rules out escapes and folded lines, both of which change the text; a value
/// reached through an alias is written elsewhere.
fn verbatim_column(
    file: &SourceFile,
    value: &str,
    defined: &Location,
    referenced: &Location,
) -> Option<u32> {
    if defined.span().byte_offset() != referenced.span().byte_offset()
        || value.contains(['\n', '\r'])
    {
        return None;
    }
    let literal = literal_at(file, defined)?;
    let quoted = |quote: char| {
        literal
            .strip_prefix(quote)?
            .strip_suffix(quote)
            .filter(|inner| *inner == value)
    };
    let column = span_of(referenced).column;
    if literal == value {
        Some(column)
    } else if quoted('"').or_else(|| quoted('\'')).is_some() {
        Some(column + 1)
    } else {
        None
    }
}

/// The source text of a node, without any anchor or tag in front of it.
fn literal_at<'a>(file: &'a SourceFile, location: &Location) -> Option<&'a str> {
    let span = location.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    file.slice(start, len)
}

fn style_at(file: &SourceFile, location: &Location) -> Style {
    let Some(mut literal) = literal_at(file, location) else {
        // Without the text we cannot tell; never accuse a value of being unquoted on a guess.
        return Style::Explicit;
    };
    if has_tag_before(file, location) {
        return Style::Explicit;
    }
    // `&anchor value`: the anchor is not part of the scalar.
    while let Some(rest) = literal.strip_prefix('&') {
        literal = rest
            .split_once(char::is_whitespace)
            .map_or("", |(_, after)| after.trim_start());
    }
    match literal.chars().next() {
        Some('"' | '\'' | '|' | '>' | '!') => Style::Explicit,
        _ => Style::Plain,
    }
}

/// Whether a tag such as `!!str` stands before the node (possibly with an anchor between),
/// which the node's span does not include.
fn has_tag_before(file: &SourceFile, location: &Location) -> bool {
    let Some(start) = location
        .span()
        .byte_offset()
        .and_then(|o| usize::try_from(o).ok())
    else {
        return false;
    };
    let Some(before) = file.text.get(..start) else {
        return false;
    };
    let line = before.rsplit('\n').next().unwrap_or_default();
    for token in line.split_whitespace().rev() {
        match token.chars().next() {
            Some('!') => return true,
            Some('&') => continue,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> (Config, Vec<Diagnostic>) {
        load(&SourceFile::new("t.yaml", text.to_owned()))
    }

    #[test]
    fn knows_where_a_verbatim_value_starts() {
        let text = "artImages:\n- name: plain\n  tag: 'single'\n- name: \"esc\\\\aped\"\n  tag: &a anchored\n- name: *a\n";
        let (config, _) = load_str(text);
        let columns: Vec<Option<u32>> = config
            .art_image_items()
            .flat_map(|item| ["name", "tag"].map(|f| item.body.text(f).map(|s| s.verbatim_column)))
            .flatten()
            .collect();
        assert_eq!(columns, [Some(9), Some(9), None, Some(11), None]);
    }

    #[test]
    fn keeps_positions_styles_and_literal_numbers() {
        let (config, diags) = load_str(
            "supplementalCIImages:\n  ci/a:b:\n    image: \"quay.io/a/b:c\"\n    tag: 10.10\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let entry = config.supplemental_entries().next().unwrap();
        assert_eq!(entry.key.value, "ci/a:b");
        assert_eq!(entry.key.span, Span::new(2, 3, 6));
        let image = entry.body.text("image").unwrap();
        assert_eq!(image.value, "quay.io/a/b:c");
        assert_eq!(image.style, Style::Explicit);
        assert_eq!(image.span.line, 3);
        assert_eq!(image.span.column, 12);
        let tag = entry.body.text("tag").unwrap();
        assert_eq!(tag.value, "10.10");
        assert_eq!(tag.style, Style::Plain);
    }

    #[test]
    fn repeated_keys_are_all_kept() {
        let (config, diags) = load_str(
            "supplementalCIImages:\n  a/b:c: {image: x, image: y}\n  a/b:c: {}\nsupplementalCIImages: {}\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(config.top_keys.len(), 2);
        assert_eq!(config.supplemental.len(), 2);
        let entries: Vec<_> = config.supplemental_entries().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].body.fields().len(), 2);
    }

    #[test]
    fn syntax_errors_become_one_positioned_diagnostic() {
        let (_, diags) = load_str("a:\n  b: c\n d: e\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::YamlSyntax);
        assert_eq!((diags[0].span.line, diags[0].span.column), (3, 2));
        assert!(
            !diags[0].message.contains(" at line "),
            "{}",
            diags[0].message
        );
    }

    #[test]
    fn anchored_scalars_are_judged_by_their_text() {
        let (config, _) = load_str(
            "supplementalCIImages:\n  a/b:c: {namespace: &n \"9\", name: x, tag: *n}\n  d/e:f: {namespace: &m 9, name: !!str 10.10, tag: 9}\n",
        );
        let entries: Vec<_> = config.supplemental_entries().collect();
        assert_eq!(entries[0].body.text("tag").unwrap().style, Style::Explicit);
        assert_eq!(
            entries[1].body.text("namespace").unwrap().style,
            Style::Plain
        );
        assert_eq!(entries[1].body.text("namespace").unwrap().value, "9");
        assert_eq!(entries[1].body.text("name").unwrap().style, Style::Explicit);
    }
}
