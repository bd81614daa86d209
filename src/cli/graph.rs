//! `handover graph`: draw management servers → gateways → agent counts, as
//! DOT, Mermaid or SVG; with `--observed` or `--target`, highlight the
//! planned moves.
//!
//! Reads the desired topology (and the observed state: a file, or one
//! read-only observation of a target through `flags::observe_read_only`),
//! plans when the observed state is given, and prints the graph of
//! `handover::graph` in the view `--view` chooses (by size unless forced).
//! SVG is laid out in pure Rust by default; `--engine graphviz` pipes the
//! DOT to Graphviz's `dot -Tsvg` when it is installed.
//! Must not change the target or touch anything else.

use super::exit;
use super::flags::{self, SourceArgs};
use clap::{Args as ClapArgs, ValueEnum};
use handover::graph::{self, Options};
use std::io::Write;
use std::process::{Command, Stdio};

/// Output formats of `handover graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart (GitHub renders it in Markdown).
    Mermaid,
    /// A standalone SVG image.
    Svg,
}

/// Which picture `handover graph` draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ViewArg {
    /// The per-server picture when its widest row fits in 1,280 px (about
    /// a dozen gateways), else the flows.
    Auto,
    /// Every management server and gateway a box, agents counted per
    /// primary below them.
    Servers,
    /// One row per move group, old primary → new primary, largest first,
    /// the rest summed up ("and N more"); agents per primary when nothing
    /// moves. Stays readable at 100 gateways and 50 move groups.
    Flows,
}

/// How the SVG is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// Pure Rust layered layout: deterministic, no other program needed.
    Builtin,
    /// Graphviz's `dot -Tsvg` (must be on PATH).
    Graphviz,
}

/// Flags of `handover graph`.
#[derive(ClapArgs, Debug)]
#[command(group(clap::ArgGroup::new("source").args(["observed", "target"])))]
pub struct Args {
    /// `--desired`, and `--observed` or `--target` (with `--target-arg`,
    /// `--provider-timeout`).
    #[command(flatten)]
    pub source: SourceArgs,
    /// What to print.
    #[arg(long, value_enum)]
    pub format: Format,
    /// SVG layout engine (with `--format svg`).
    #[arg(long, value_enum, default_value_t = Engine::Builtin)]
    pub engine: Engine,
    /// Also draw failover relations (dotted grey).
    #[arg(long)]
    pub failovers: bool,
    /// Draw at most N move groups, largest first; the rest are summarised.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub max_moves: usize,
    /// Which picture: `auto` draws every server as a box when that fits
    /// in 1,280 px, else one row per move group (old primary → new
    /// primary, largest first).
    #[arg(long, value_enum, default_value_t = ViewArg::Auto)]
    pub view: ViewArg,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    if let Err(e) = args.source.observe.check() {
        eprintln!("{e}");
        return exit::ERROR;
    }
    // A usage error is said before any target is asked anything.
    if args.engine == Engine::Graphviz && args.format != Format::Svg {
        eprintln!("error: --engine graphviz applies to --format svg only");
        return exit::ERROR;
    }
    let opts = Options {
        failovers: args.failovers,
        max_moves: args.max_moves,
        view: match args.view {
            ViewArg::Auto => graph::Choice::Auto,
            ViewArg::Servers => graph::Choice::Force(graph::View::Servers),
            ViewArg::Flows => graph::Choice::Force(graph::View::Flows),
        },
        ..Options::default()
    };
    let Some((desired, observed)) = flags::topology_and_source(
        &args.source.desired,
        args.source.observed.as_deref(),
        &args.source.observe,
        0,
    ) else {
        return match handover::load::topology(&args.source.desired) {
            Ok(t) => draw(&args, graph::desired(&t, &opts)),
            Err(d) => {
                eprintln!("{d}");
                exit::ERROR
            }
        };
    };
    let (desired, observed) = match (desired, observed) {
        (Ok(d), Ok(o)) => (d, o),
        (d, o) => {
            if let Err(d) = d {
                eprintln!("{d}");
            }
            if let Err(o) = o {
                eprintln!("{o}");
            }
            return exit::ERROR;
        }
    };
    let g = match handover::plan::try_plan(&desired, &observed) {
        Ok(p) => graph::change(&p, &observed, &opts),
        Err(e) => {
            eprintln!(
                "{}",
                handover::diag::Diagnostics(e.to_diagnostics(&desired))
            );
            return exit::ERROR;
        }
    };
    draw(&args, g)
}

/// Prints `g` in the chosen format; the exit code.
fn draw(args: &Args, g: graph::Graph) -> u8 {
    let text = match (args.format, args.engine) {
        (Format::Dot, _) => graph::dot::render(&g),
        (Format::Mermaid, _) => graph::mermaid::render(&g),
        (Format::Svg, Engine::Builtin) => graph::svg::render(&g),
        (Format::Svg, Engine::Graphviz) => match graphviz(&graph::dot::render(&g)) {
            Ok(svg) => svg,
            Err(e) => {
                eprintln!("error: {e:#}");
                return exit::ERROR;
            }
        },
    };
    if !super::write_stdout(&text) {
        return exit::ERROR;
    }
    exit::OK
}

/// Runs `dot -Tsvg` on `dot`; its SVG, or why not.
fn graphviz(dot: &str) -> anyhow::Result<String> {
    use anyhow::Context;
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context(
            "cannot run Graphviz's `dot` (is Graphviz installed and on PATH?); \
             leave out --engine graphviz to use the built-in layout",
        )?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = dot.to_string();
    // Write from a thread so a large graph cannot deadlock on full pipes.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().context("waiting for `dot`")?;
    let _ = writer.join();
    if !out.status.success() {
        anyhow::bail!(
            "`dot -Tsvg` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).context("`dot` wrote output that is not UTF-8")
}
