//! raftsim's integration tests, gathered in one binary so that the suite links the crate once.
//! Run one group with a filter: `cargo test --test it conformance`, `cargo test --test it golden`.
//! (`tests/alloc.rs` stays apart: it counts every allocation of its process.)

mod bad_input;
mod catalogue;
mod censoring;
mod cli;
mod conformance;
mod cost;
mod durability;
mod faults;
mod golden;
mod initial_state;
mod interrupt;
mod layers;
mod liveness;
mod metrics;
mod oracle;
mod paper;
mod regressions;
mod replay;
mod rules;
mod safety;
mod safety_net;
mod sweep;
