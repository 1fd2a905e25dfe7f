//! A pure Raft server: inputs in, outputs out.
//!
//! [`Node`] follows the Raft paper's Figure 2. It reads no clock, draws no randomness of its own, spawns no thread
//! and does no I/O: each call to [`Node::step`] handles one [`Input`] and produces its outputs through the caller's
//! [`Env`] — messages, timer settings, persistence, applied entries and status changes. Whoever drives it (a
//! simulator, a test, a real server) decides when inputs happen.
//!
//! ```
//! use raft_model::{Config, Env, Input, Message, Node, NodeId, Role, Timer, testing::Recorder};
//!
//! // A three-server cluster; drive server 0 by hand.
//! let mut node = Node::new(NodeId(0), 3, Config::default(), None);
//! let mut env = Recorder::new(1);
//! node.step(&mut env, Input::Boot);
//! node.step(&mut env, Input::Timeout(Timer::Election));
//! assert_eq!(node.role(), Role::Candidate);
//! // One vote from a peer makes a majority of three.
//! let reply = Message::RequestVoteReply { term: node.term(), vote_granted: true, pre_vote: false };
//! node.step(&mut env, Input::Message { from: NodeId(1), msg: reply });
//! assert_eq!(node.role(), Role::Leader);
//! ```

#![warn(missing_docs)]

mod node;
pub mod testing;
mod types;

pub use node::{Env, Input, Node};
pub use types::*;
