//! The mirroring config as written: every section, entry and field with its position, including
//! the ones that are wrong. Rules judge this model; nothing here rejects anything.

use crate::source::Span;

/// How a scalar was written, which decides how YAML 1.1 readers (the Go consumer) type it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unquoted: YAML 1.1 may read it as a number, boolean or null.
    Plain,
    /// Quoted, block (`|`, `>`) or explicitly tagged: always a string.
    Explicit,
}

/// A scalar with its text and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    /// The string value; for an unquoted number or boolean, its literal spelling.
    pub value: String,
    /// Where it is written.
    pub span: Span,
    /// How it is written.
    pub style: Style,
    /// The column of the value's first character when the file spells the value out character
    /// for character on one line (plain, or quoted without escapes), so that a place inside the
    /// value is a place in the file; `None` for escapes, folded lines, block scalars and
    /// aliases.
    pub verbatim_column: Option<u32>,
}

impl Scalar {
    /// Where the characters `chars` of the value are written, or the whole scalar when the value
    /// is not written verbatim.
    pub fn span_of_chars(&self, chars: std::ops::Range<usize>) -> Span {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match self.verbatim_column {
            Some(column) => Span::new(
                self.span.line,
                column.saturating_add(narrow(chars.start)),
                narrow(chars.len()).max(1),
            ),
            None => self.span,
        }
    }
}

/// What kind of YAML node something is, for messages about wrong types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `~`, `null` or nothing.
    Null,
    /// A string, number or boolean.
    Scalar,
    /// A list.
    Sequence,
    /// A mapping.
    Mapping,
}

impl Kind {
    /// The kind with an article, for messages: "a list".
    pub const fn described(self) -> &'static str {
        match self {
            Kind::Null => "empty",
            Kind::Scalar => "a string",
            Kind::Sequence => "a list",
            Kind::Mapping => "a mapping",
        }
    }
}

/// A field's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Nothing, `~` or `null`.
    Null,
    /// A string (or a number or boolean, kept as its literal text).
    Scalar(Scalar),
    /// A list or mapping where a string belongs.
    Collection(Kind),
}

/// One `name: value` pair of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field name as written.
    pub name: Scalar,
    /// Where the value is (the field name's position when the value is empty).
    pub value_span: Span,
    /// The value.
    pub value: Value,
}

impl Field {
    /// The value when it is a non-empty scalar.
    pub fn text(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) if !s.value.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// The value of an entry or list item: normally a mapping of fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Written with no value (`key:` or `key: ~`).
    Null,
    /// A mapping of fields, in document order, repeats included.
    Mapping(Vec<Field>),
    /// A scalar or list where a mapping belongs.
    Other(Kind),
}

/// Whether Go's `encoding/json` reads the key `written` as the field `field` (ASCII, any case):
/// equal under Unicode simple case folding, where besides ASCII only the Kelvin sign folds to
/// `k` and the long s to `s`.
pub fn go_name_matches(written: &str, field: &str) -> bool {
    let mut wanted = field.chars().map(|c| c.to_ascii_lowercase());
    for c in written.chars() {
        let folded = match c {
            '\u{212A}' => 'k',
            '\u{17F}' => 's',
            c => c.to_ascii_lowercase(),
        };
        if wanted.next() != Some(folded) {
            return false;
        }
    }
    wanted.next().is_none()
}

impl Body {
    /// The fields; none unless the body is a mapping.
    pub fn fields(&self) -> &[Field] {
        match self {
            Body::Mapping(fields) => fields,
            Body::Null | Body::Other(_) => &[],
        }
    }

    /// The field `name` as ci-images-mirror reads it: Go's `encoding/json` matches a field
    /// name in any case (Unicode simple folding), and when a mapping spells one field twice the
    /// later value is the one it keeps.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields()
            .iter()
            .rev()
            .find(|f| go_name_matches(&f.name.value, name))
    }

    /// The first field named `name` when it has a non-empty scalar value.
    pub fn text(&self, name: &str) -> Option<&Scalar> {
        self.field(name).and_then(Field::text)
    }

    /// What this body asks to mirror, if it names a complete source.
    pub fn source(&self) -> Option<SourceRef<'_>> {
        if let Some(image) = self.text("image") {
            return Some(SourceRef::Image(image));
        }
        Some(SourceRef::ImageStreamTag {
            namespace: self.text("namespace")?,
            name: self.text("name")?,
            tag: self.text("tag")?,
        })
    }
}

/// A source as written: an `image:` pull spec or an imagestreamtag on the app.ci registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRef<'a> {
    /// `image: <pull spec>`.
    Image(&'a Scalar),
    /// `namespace`, `name` and `tag` of an imagestreamtag.
    ImageStreamTag {
        /// The imagestream's namespace.
        namespace: &'a Scalar,
        /// The imagestream's name.
        name: &'a Scalar,
        /// The tag.
        tag: &'a Scalar,
    },
}

impl SourceRef<'_> {
    /// Where to point at the source.
    pub fn span(&self) -> Span {
        match self {
            SourceRef::Image(image) => image.span,
            SourceRef::ImageStreamTag { namespace, .. } => namespace.span,
        }
    }
}

/// A keyed entry of `supplementalCIImages` or `qciToAppCIImages`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The target, `namespace/name:tag`.
    pub key: Scalar,
    /// Where the value starts.
    pub body_span: Span,
    /// The source.
    pub body: Body,
}

/// An item of `ignoredSources` or `artImages`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Where the item starts.
    pub span: Span,
    /// Its fields.
    pub body: Body,
}

/// What a top-level key holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionBody<T> {
    /// Nothing: the same as an empty section.
    Null,
    /// The section's entries or items.
    Items(Vec<T>),
    /// A value of the wrong kind (e.g. a list where a mapping belongs).
    Wrong(Kind),
}

/// One top-level section as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section<T> {
    /// The top-level key.
    pub key: Scalar,
    /// Where the value starts.
    pub body_span: Span,
    /// The value.
    pub body: SectionBody<T>,
}

impl<T> Section<T> {
    /// The entries or items; none when the section is empty or of the wrong kind.
    pub fn items(&self) -> &[T] {
        match &self.body {
            SectionBody::Items(items) => items,
            SectionBody::Null | SectionBody::Wrong(_) => &[],
        }
    }
}

/// The whole `_config.yaml` as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Set when the document is something other than a mapping (or empty).
    pub top_level_kind: Option<(Kind, Span)>,
    /// Every top-level key in document order, known or not, repeats included.
    pub top_keys: Vec<Scalar>,
    /// `supplementalCIImages` sections (more than one only when the key is repeated).
    pub supplemental: Vec<Section<Entry>>,
    /// `qciToAppCIImages` sections.
    pub qci_to_app_ci: Vec<Section<Entry>>,
    /// `ignoredSources` sections.
    pub ignored_sources: Vec<Section<Item>>,
    /// `artImages` sections.
    pub art_images: Vec<Section<Item>>,
}

/// The top-level keys this schema has, in the order the real file uses.
pub const TOP_LEVEL_KEYS: [&str; 4] = [
    SUPPLEMENTAL_CI_IMAGES,
    QCI_TO_APP_CI_IMAGES,
    IGNORED_SOURCES,
    ART_IMAGES,
];
/// External images (or app.ci imagestreamtags) mirrored into QCI.
pub const SUPPLEMENTAL_CI_IMAGES: &str = "supplementalCIImages";
/// QCI images copied back to app.ci.
pub const QCI_TO_APP_CI_IMAGES: &str = "qciToAppCIImages";
/// Sources that are never mirrored.
pub const IGNORED_SOURCES: &str = "ignoredSources";
/// app.ci imagestreams whose tags go to QCI.
pub const ART_IMAGES: &str = "artImages";

impl Config {
    /// Every `supplementalCIImages` entry, in document order.
    pub fn supplemental_entries(&self) -> impl Iterator<Item = &Entry> {
        self.supplemental.iter().flat_map(Section::items)
    }

    /// Every `qciToAppCIImages` entry, in document order.
    pub fn qci_to_app_ci_entries(&self) -> impl Iterator<Item = &Entry> {
        self.qci_to_app_ci.iter().flat_map(Section::items)
    }

    /// Every `ignoredSources` item, in document order.
    pub fn ignored_source_items(&self) -> impl Iterator<Item = &Item> {
        self.ignored_sources.iter().flat_map(Section::items)
    }

    /// Every `artImages` item, in document order.
    pub fn art_image_items(&self) -> impl Iterator<Item = &Item> {
        self.art_images.iter().flat_map(Section::items)
    }
}
