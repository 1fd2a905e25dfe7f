//! raftsim: a deterministic discrete-event simulator for Raft leader elections.
//!
//! The binary is glue: [`scenario`] loads and checks a YAML scenario, [`trial`] drives one simulated cluster
//! (the engine from `sim-core`, the nodes from `raft-model`) and measures it, [`experiment`] runs many trials in
//! parallel, [`stats`] aggregates them deterministically, [`study`] says what one command runs, [`report`]
//! writes the results and [`cli`] parses arguments and wires these together.
//!
//! Modules depend on each other in one direction only; each uses only modules listed before it:
//!
//! 1. [`duration`], [`metric`], [`error`], [`interrupt`], [`raftrs::config`] (nothing of this crate)
//! 2. [`catalogue`], [`overrides`], [`scenario`]
//! 3. [`trace`], [`lint`], [`invariants`], [`host`], [`raftrs`], [`trial`], [`diagram`], [`harness`]
//! 4. [`stats`], [`experiment`]
//! 5. [`sweep`], [`study`], [`tune`]
//! 6. [`report`]: its files [`report::dir`], [`report::chart`], [`report::figure`], [`report::trials`],
//!    [`report::dist`], [`report::html`], [`report::run`], [`report::sweep`], [`report::part`],
//!    [`report::replay`], then `report` itself
//! 7. [`list`], [`cli`]

#![warn(missing_docs)]

pub mod catalogue;
pub mod cli;
pub mod compare;
pub mod diagram;
pub mod duration;
pub mod error;
pub mod experiment;
pub mod harness;
pub mod host;
pub mod interrupt;
pub mod invariants;
pub mod lint;
pub mod list;
pub mod metric;
pub mod overrides;
pub mod raftrs;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod study;
pub mod sweep;
pub mod trace;
pub mod trial;
pub mod tune;
