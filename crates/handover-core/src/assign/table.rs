//! The load table of `handover plan`: each parent's members before and
//! after, against its capacity, as aligned text or a markdown table.
//!
//! Owns only the rendering of [`Load`] rows; computing them is
//! `capacity::loads`. Pure string building; must not print.

use super::capacity::Load;
use crate::diag::thousands;
use std::fmt::Write;

const HEADER: [&str; 7] = [
    "server", "kind", "before", "after", "change", "capacity", "note",
];

fn cells(l: &Load) -> [String; 7] {
    let change = i64::from(l.after) - i64::from(l.before);
    let change = match change {
        0 => "0".to_string(),
        c if c > 0 => format!("+{}", thousands(c.unsigned_abs())),
        c => format!("-{}", thousands(c.unsigned_abs())),
    };
    let note = if l.after > l.capacity {
        "over capacity"
    } else {
        ""
    };
    [
        l.server.to_string(),
        l.kind.as_str().to_string(),
        thousands(l.before),
        thousands(l.after),
        change,
        thousands(l.capacity),
        note.to_string(),
    ]
}

/// Whether a column is right-aligned (the numbers).
fn numeric(col: usize) -> bool {
    (2..=5).contains(&col)
}

/// A plain-text table with aligned columns, one line per parent, ending in
/// a newline; empty when there are no rows.
pub fn render_loads_text(rows: &[Load]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let body: Vec<[String; 7]> = rows.iter().map(cells).collect();
    let mut width = HEADER.map(str::len);
    for r in &body {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let header = HEADER.map(String::from);
    for r in std::iter::once(&header).chain(&body) {
        let mut line = String::new();
        for (col, c) in r.iter().enumerate() {
            if col > 0 {
                line.push_str("  ");
            }
            if numeric(col) {
                let _ = write!(line, "{c:>w$}", w = width[col]);
            } else {
                let _ = write!(line, "{c:<w$}", w = width[col]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A GitHub-flavoured markdown table, numbers right-aligned, ending in a
/// newline; empty when there are no rows.
pub fn render_loads_markdown(rows: &[Load]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let align: Vec<&str> = (0..HEADER.len())
        .map(|c| if numeric(c) { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "| {} |", align.join(" | "));
    for l in rows {
        let mut c = cells(l);
        c[0] = format!("`{}`", c[0]);
        let _ = writeln!(out, "| {} |", c.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::ServerKind;
    use crate::name::Name;

    fn rows() -> Vec<Load> {
        let n = |s: &str| Name::parse(s).unwrap();
        vec![
            Load {
                server: n("ms1.contoso.local"),
                kind: ServerKind::ManagementServer,
                before: 3,
                after: 3,
                capacity: 3000,
            },
            Load {
                server: n("gw4.contoso.local"),
                kind: ServerKind::Gateway,
                before: 1200,
                after: 800,
                capacity: 2000,
            },
            Load {
                server: n("gw5.contoso.local"),
                kind: ServerKind::Gateway,
                before: 0,
                after: 2400,
                capacity: 2000,
            },
        ]
    }

    #[test]
    fn text_table() {
        crate::testkit::snapshots().bind(|| {
            insta::assert_snapshot!(render_loads_text(&rows()));
        });
    }

    #[test]
    fn markdown_table() {
        crate::testkit::snapshots().bind(|| {
            insta::assert_snapshot!(render_loads_markdown(&rows()));
        });
    }

    #[test]
    fn nothing_to_show() {
        assert_eq!(render_loads_text(&[]), "");
        assert_eq!(render_loads_markdown(&[]), "");
    }
}
