//! Rendering for people ([`human`], [`table`]), programs ([`json`]) and job summaries
//! ([`markdown`]); [`plan`] renders the plan in all three, so the lookups that produce it never
//! format text.

pub mod human;
pub mod json;
pub mod markdown;
pub mod plan;
pub mod table;
