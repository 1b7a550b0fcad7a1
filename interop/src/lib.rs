//! Interop helpers: real Java Aeron as a test peer ([`java`]).

pub mod java;
