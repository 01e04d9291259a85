//! nabla: symbolic matrix calculus.
#![deny(missing_docs)]

pub mod build;
pub mod error;
pub mod expr;
pub mod parse;
pub mod shape;
pub mod print;
pub mod infer;
