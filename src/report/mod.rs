//! Rendering checked files for people ([`human`]) and programs ([`json`]).

pub mod human;
pub mod json;
pub mod table;
