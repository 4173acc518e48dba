//! The document as serde-saphyr reads it: a generic tree in which every node keeps its position.
//!
//! A generic tree (rather than derived structs) lets one run report every problem: unknown
//! fields, wrong types and repeated keys become diagnostics later instead of aborting serde.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// One YAML node.
#[derive(Debug)]
pub(crate) enum RawNode {
    /// `~`, `null` or nothing.
    Null,
    /// A scalar. `Some` holds the decoded string; `None` means the parser resolved it to a
    /// number or boolean, whose literal spelling is then read back from the source text.
    Scalar(Option<String>),
    /// A sequence.
    Seq(Vec<Spanned<RawNode>>),
    /// A mapping, in document order, repeated keys included.
    Map(Vec<(Spanned<String>, Spanned<RawNode>)>),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawNodeVisitor)
    }
}

struct RawNodeVisitor;

impl<'de> Visitor<'de> for RawNodeVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Some(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Some(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(None))
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(None))
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(None))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Some(
            String::from_utf8_lossy(v).into_owned(),
        )))
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<Spanned<RawNode>>()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<RawNode>>()?;
            entries.push((key, value));
        }
        Ok(RawNode::Map(entries))
    }
}
