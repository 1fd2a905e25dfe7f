//! raftsim's integration tests, gathered in one binary so that the suite links the crate once.
//! Run one group with a filter: `cargo test --test it conformance`, `cargo test --test it golden`.
//! (`tests/alloc.rs` stays apart: it counts every allocation of its process.)

mod bad_input;
mod browser;
mod catalogue;
mod censoring;
mod cli;
mod compare;
mod conformance;
mod cost;
mod durability;
mod faults;
mod flags;
mod folders;
mod golden;
mod initial_state;
mod interrupt;
mod layers;
mod lint;
mod liveness;
mod metrics;
mod oracle;
mod output;
mod paper;
mod readme;
mod regressions;
mod replay;
mod reuse;
mod rules;
mod safety;
mod safety_net;
mod sweep;
mod ticks;
mod tune;
