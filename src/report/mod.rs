//! Rendering for people ([`human`], [`table`]), programs ([`json`]) and job summaries
//! ([`markdown`]).

pub mod human;
pub mod json;
pub mod markdown;
pub mod table;
