//! raftsim: a deterministic discrete-event simulator for Raft leader elections.
//!
//! The binary is glue: [`scenario`] loads and checks a YAML scenario, [`trial`] drives one simulated cluster
//! (the engine from `sim-core`, the nodes from `raft-model`) and measures it, [`experiment`] runs many trials in
//! parallel, [`stats`] aggregates them deterministically, and [`report`] and [`chart`] write the results.

#![warn(missing_docs)]

pub mod chart;
pub mod cli;
pub mod diagram;
pub mod duration;
pub mod error;
pub mod experiment;
pub mod harness;
pub mod html;
pub mod invariants;
pub mod overrides;
pub mod raftrs;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod study;
pub mod sweep;
pub mod trace;
pub mod trial;
