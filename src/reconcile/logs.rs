//! Logs of the reconcile loop: text or JSON lines on stderr, and one span
//! per pass carrying the pass number, the revision and the trigger.
//!
//! Owns the subscriber set-up (`--log-format`) and the pass span's fields,
//! so every event inside a pass says which revision and trigger it belongs
//! to. Must not decide what is logged inside the executor.

use super::schedule::Trigger;
use tracing::Span;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// `--log-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the current span's fields (for
    /// journald and log shippers).
    Json,
}

/// The environment variable that sets the log filter (`info` by default),
/// in `tracing_subscriber::EnvFilter` syntax, e.g. `handover=debug`.
pub const LOG_ENV: &str = "HANDOVER_LOG";

/// A subscriber writing to `writer` in `format`, filtered by `filter`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    match format {
        LogFormat::Text => Box::new(b.with_ansi(false).finish()),
        LogFormat::Json => Box::new(
            b.json()
                .with_current_span(true)
                .with_span_list(false)
                .flatten_event(true)
                .finish(),
        ),
    }
}

/// Installs the process-wide subscriber on stderr, filtered by
/// [`LOG_ENV`] (default `info`). Fails if one is already installed.
pub fn init(format: LogFormat) -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr))
}

/// The span of one pass; enter it (or `instrument` the pass's future) so
/// every event of the pass carries these fields.
pub fn pass_span(pass: u64, trigger: Trigger, revision: Option<&str>) -> Span {
    tracing::info_span!(
        "reconcile_pass",
        pass,
        trigger = trigger.as_str(),
        revision = revision.unwrap_or("none")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    fn capture(format: LogFormat) -> String {
        let buf = Buf::default();
        let sub = subscriber(format, EnvFilter::new("info"), buf.clone());
        tracing::subscriber::with_default(sub, || {
            let span = pass_span(7, Trigger::NewRevision, Some("3f2a9c01be77"));
            let _g = span.enter();
            tracing::info!(applied = 3, "pass finished");
            tracing::debug!("filtered out");
        });
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn json_lines_carry_the_pass_span_fields() {
        let out = capture(LogFormat::Json);
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["message"], "pass finished");
        assert_eq!(v["applied"], 3);
        assert_eq!(v["span"]["name"], "reconcile_pass");
        assert_eq!(v["span"]["trigger"], "new_revision");
        assert_eq!(v["span"]["revision"], "3f2a9c01be77");
        assert_eq!(v["span"]["pass"], 7);
    }

    #[test]
    fn text_lines_name_the_span_fields() {
        let out = capture(LogFormat::Text);
        assert!(
            out.contains(
                "reconcile_pass{pass=7 trigger=\"new_revision\" revision=\"3f2a9c01be77\"}"
            ),
            "{out}"
        );
        assert!(out.contains("pass finished applied=3"), "{out}");
    }
}
