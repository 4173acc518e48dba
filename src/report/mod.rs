//! Rendering for people ([`human`], [`table`]), programs ([`json`]) and job summaries
//! ([`markdown`]); [`plan`] and [`mirror`] render the plan and a run's results in all three, so
//! the engines that produce them never format text.

pub mod human;
pub mod json;
pub mod markdown;
pub mod mirror;
pub mod plan;
pub mod progress;
pub mod table;
