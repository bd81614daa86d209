//! Rendering plans for people and programs: text, Markdown, JSON and a
//! PowerShell script to run by hand.
//!
//! Owns how a [`Plan`](crate::plan::Plan) is shown: the text report a
//! terminal user reads ([`text`]), the pull-request comment ([`markdown`])
//! the stable plan file ([`json`]) and the Operations Manager Shell script
//! ([`powershell`]). Rendering reads the plan and the
//! observed state it was made from (for each member's old parents); it must
//! not plan, decide or touch I/O: the CLI decides colour and writes.
//!
//! Human output groups identical moves when a phase is large (`1,200
//! agents: gw1.dmz → gw2.dmz`) unless asked to be verbose, shortens host
//! names by their common domain suffix, and writes numbers with thousands
//! separators.

pub mod forecast;
pub mod graph;
pub mod json;
pub mod markdown;
pub mod powershell;
pub mod quote;
pub mod store;
pub mod text;
pub(crate) mod view;
pub mod waves;

pub use view::{GroupKey, MemberView, Phase, View};

/// How human output is rendered.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// ANSI colour (text only). The CLI sets it only when stdout is a
    /// terminal and `NO_COLOR` is unset.
    pub color: bool,
    /// List every member instead of grouping identical moves.
    pub verbose: bool,
    /// `policy.maxInFlight`: the size of a wave in the agents phase.
    pub max_in_flight: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            color: false,
            verbose: false,
            max_in_flight: 100,
        }
    }
}

/// The load rows worth showing: parents whose load changes or that are over
/// capacity, or every parent when `verbose`.
pub(crate) fn load_rows(plan: &crate::plan::Plan, verbose: bool) -> Vec<crate::assign::Load> {
    plan.loads
        .iter()
        .filter(|l| verbose || l.before != l.after || l.after > l.capacity)
        .cloned()
        .collect()
}
