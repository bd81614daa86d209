//! Where everything goes in the SVG: boxes, edge routes, labels, notes.
//!
//! Owns the geometry of both views, as data the SVG writer draws and the
//! tests measure. The per-server view is a small layered layout:
//! management servers on the top row, gateways in the middle, counts at the
//! bottom; within a row, nodes are ordered by the mean position of their
//! parents (one barycentre pass, ties by label). An edge that skips a row
//! passes through a slot of its own in that row, and an edge within a row
//! (a gateway reporting to a gateway) runs below the row, so no edge
//! crosses a box it does not join. Edge labels are placed along their edge
//! where they overlap neither a box nor another label; one that fits
//! nowhere is stated in a note instead. The flow view is one row per edge
//! (old parent, a band as thick as its count, new parent, the count), at
//! most [`MAX_WIDTH`] wide: a name too long for its column is cut with
//! "…" and kept whole in a tooltip. Text is 12 px throughout, measured at
//! 7 px per character, so output is byte-for-byte stable. Pure. Must not
//! write SVG (that is `svg`'s).

use super::{EdgeKind, Graph, View};

/// The widest per-server picture [`Choice::Auto`](super::Choice::Auto)
/// draws, in pixels: the status page's panel in a 1,280 px window is
/// 1,112 px wide, so such a picture is scaled down by at most 13 % there
/// and its 12 px text stays above 10 px.
pub const MAX_WIDTH: f64 = 1_280.0;
/// The widest flow view, in pixels: it fits that panel unscaled.
pub const FLOW_WIDTH: f64 = 1_100.0;
/// Font size of every text, in pixels.
pub const FONT: f64 = 12.0;
/// Width of one character, in pixels, for measuring.
pub const CHAR: f64 = 7.0;
const ROW: f64 = 120.0;
/// Height of a box.
pub const HEIGHT: f64 = 32.0;
const GAP: f64 = 24.0;
const MARGIN: f64 = 20.0;
const SLOT: f64 = 8.0;
const NOTE_LINE: f64 = 18.0;
const LABEL_H: f64 = 14.0;

/// An axis-aligned rectangle: left, top, width, height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// True when the interiors of `self` and `o` share a point.
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    /// True when the segment `a`–`b` passes through the interior (shrunk
    /// by half a pixel, so touching the border does not count).
    pub fn crossed_by(&self, a: (f64, f64), b: (f64, f64)) -> bool {
        let (x0, x1) = (self.x + 0.5, self.x + self.w - 0.5);
        let (y0, y1) = (self.y + 0.5, self.y + self.h - 0.5);
        // Liang–Barsky clipping of the segment against the rectangle.
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let mut t0: f64 = 0.0;
        let mut t1: f64 = 1.0;
        for (p, q) in [
            (-dx, a.0 - x0),
            (dx, x1 - a.0),
            (-dy, a.1 - y0),
            (dy, y1 - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return false;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        t0 < t1
    }
}

/// A node's box (the flow view draws a node once per row it is in).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeBox {
    /// Index in [`Graph::nodes`].
    pub node: usize,
    /// Where.
    pub rect: Rect,
    /// The text shown (the label, or cut with "…").
    pub text: String,
}

/// An edge's route.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Index in [`Graph::edges`].
    pub edge: usize,
    /// The polyline, from the parent to the member.
    pub points: Vec<(f64, f64)>,
    /// Stroke width.
    pub width: f64,
}

/// A text that is not inside a box: an edge label or a note.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// The edge it belongs to, if any.
    pub edge: Option<usize>,
    /// The text.
    pub text: String,
    /// Its box; the text is drawn left-aligned at `rect.x`, or centred when
    /// `centred`.
    pub rect: Rect,
    /// Centred in `rect` rather than left-aligned.
    pub centred: bool,
}

/// The whole picture's geometry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    /// Picture width.
    pub width: f64,
    /// Picture height.
    pub height: f64,
    /// Boxes.
    pub boxes: Vec<NodeBox>,
    /// Edges.
    pub routes: Vec<Route>,
    /// Edge labels and notes.
    pub labels: Vec<Label>,
}

/// The width of a text, as measured here.
pub fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR
}

/// Lays `g` out in its view.
pub fn layout(g: &Graph) -> Layout {
    match g.view {
        View::Servers => servers(g),
        View::Flows => flows(g),
    }
}

/// The width the per-server view of `g` needs (its widest row), to choose
/// the view by.
pub fn natural_width(g: &Graph) -> f64 {
    servers(g).width
}

/// Notes at `y`, wrapped to the picture's width; the height they took.
fn notes(g: &Graph, y: f64, out: &mut Vec<Label>) -> f64 {
    let per_line = ((FLOW_WIDTH - 2.0 * MARGIN) / CHAR) as usize;
    let mut at = y;
    for note in &g.notes {
        for line in wrap(note, per_line) {
            out.push(Label {
                edge: None,
                rect: Rect {
                    x: MARGIN,
                    y: at,
                    w: text_width(&line),
                    h: LABEL_H,
                },
                text: line,
                centred: false,
            });
            at += NOTE_LINE;
        }
    }
    at - y
}

fn wrap(s: &str, per_line: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in s.split(' ') {
        let last = lines.last_mut().expect("one line");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > per_line {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// An item of a row in the per-server view: a node, or the slot an edge
/// passes through.
#[derive(Clone, Copy, Debug)]
enum Item {
    Node(usize),
    Slot(usize),
}

/// The text in a node's box in the per-server view: a move box says only
/// its count ("14 agents moving"), since its red and green edges say from
/// where to where; the whole label is its tooltip.
fn shown(g: &Graph, i: usize) -> &str {
    let label = &g.nodes[i].label;
    match g.nodes[i].kind {
        super::NodeKind::Moving => label.split(':').next().unwrap_or(label),
        _ => label,
    }
}

fn servers(g: &Graph) -> Layout {
    let n = g.nodes.len();
    let max_rank = g.nodes.iter().map(|n| n.rank).max().unwrap_or(0) as usize;
    let mut rows: Vec<Vec<Item>> = vec![Vec::new(); max_rank + 1];
    for (i, node) in g.nodes.iter().enumerate() {
        rows[node.rank as usize].push(Item::Node(i));
    }
    // Slots of edges that skip rows, per row.
    let mut slots: Vec<Vec<(usize, usize)>> = vec![Vec::new(); g.edges.len()];
    for (k, e) in g.edges.iter().enumerate() {
        let (a, b) = (g.nodes[e.from].rank as usize, g.nodes[e.to].rank as usize);
        let (lo, hi) = (a.min(b), a.max(b));
        for (r, row) in rows.iter_mut().enumerate().take(hi).skip(lo + 1) {
            slots[k].push((r, row.len()));
            row.push(Item::Slot(k));
        }
    }
    let width_of = |it: &Item| match it {
        Item::Node(i) => text_width(shown(g, *i)) + 20.0,
        Item::Slot(_) => SLOT,
    };
    // Order each row by the mean position of what leads into it.
    let mut key_node = vec![0.0f64; n];
    let mut key_slot: Vec<Vec<f64>> = slots.iter().map(|s| vec![0.0; s.len()]).collect();
    let mut x_node = vec![0.0f64; n];
    let mut x_slot: Vec<Vec<f64>> = key_slot.clone();
    let row_of_slot: Vec<Vec<usize>> = slots
        .iter()
        .map(|s| s.iter().map(|(r, _)| *r).collect())
        .collect();
    // Row `r` is reordered from what row `r - 1` holds: by index.
    #[allow(clippy::needless_range_loop)]
    for r in 0..rows.len() {
        if r > 0 {
            let mut keyed: Vec<(f64, String, usize, Item)> = Vec::new();
            for (pos, it) in rows[r].iter().enumerate() {
                let (k, label, _) = match *it {
                    Item::Node(i) => {
                        let above: Vec<f64> = g
                            .edges
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| e.to == i && e.kind != EdgeKind::Failover)
                            .filter_map(|(k, e)| {
                                let from_rank = g.nodes[e.from].rank as usize;
                                if from_rank >= r {
                                    return None;
                                }
                                // Through the edge's slot in the row above, if any.
                                match row_of_slot[k].iter().position(|&sr| sr == r - 1) {
                                    Some(s) => Some(key_slot[k][s]),
                                    None => Some(key_node[e.from]),
                                }
                            })
                            .collect();
                        let k = if above.is_empty() {
                            f64::MAX
                        } else {
                            above.iter().sum::<f64>() / above.len() as f64
                        };
                        (k, g.nodes[i].label.clone(), i)
                    }
                    Item::Slot(k) => {
                        let e = &g.edges[k];
                        let s = row_of_slot[k].iter().position(|&sr| sr == r).unwrap_or(0);
                        let top = if g.nodes[e.from].rank < g.nodes[e.to].rank {
                            e.from
                        } else {
                            e.to
                        };
                        let key = if s > 0 {
                            key_slot[k][s - 1]
                        } else {
                            key_node[top]
                        };
                        (key, String::new(), n + k)
                    }
                };
                keyed.push((k, label, pos, *it));
            }
            keyed.sort_by(|a, b| {
                a.0.total_cmp(&b.0)
                    .then_with(|| a.1.cmp(&b.1))
                    .then(a.2.cmp(&b.2))
            });
            rows[r] = keyed.into_iter().map(|t| t.3).collect();
        }
        let mut cursor = MARGIN;
        for (pos, it) in rows[r].iter().enumerate() {
            let w = width_of(it);
            match *it {
                Item::Node(i) => {
                    x_node[i] = cursor + w / 2.0;
                    key_node[i] = pos as f64;
                }
                Item::Slot(k) => {
                    let s = row_of_slot[k].iter().position(|&sr| sr == r).unwrap_or(0);
                    x_slot[k][s] = cursor + w / 2.0;
                    key_slot[k][s] = pos as f64;
                }
            }
            cursor += w + GAP;
        }
    }
    // Centre each row on the widest.
    let widths: Vec<f64> = rows
        .iter()
        .map(|row| (row.iter().map(|it| width_of(it) + GAP).sum::<f64>() - GAP).max(0.0))
        .collect();
    let widest = widths.iter().copied().fold(0.0, f64::max);
    for (r, (row, rw)) in rows.iter().zip(&widths).enumerate() {
        let shift = (widest - rw) / 2.0;
        for it in row {
            match *it {
                Item::Node(i) => x_node[i] += shift,
                Item::Slot(k) => {
                    let s = row_of_slot[k].iter().position(|&sr| sr == r).unwrap_or(0);
                    x_slot[k][s] += shift;
                }
            }
        }
    }
    let top = |rank: usize| MARGIN + rank as f64 * ROW;
    let mut out = Layout::default();
    for (i, node) in g.nodes.iter().enumerate() {
        let w = text_width(shown(g, i)) + 20.0;
        out.boxes.push(NodeBox {
            node: i,
            rect: Rect {
                x: x_node[i] - w / 2.0,
                y: top(node.rank as usize),
                w,
                h: HEIGHT,
            },
            text: shown(g, i).to_string(),
        });
    }
    for (k, e) in g.edges.iter().enumerate() {
        let (a, b) = (&out.boxes[e.from].rect, &out.boxes[e.to].rect);
        let (ax, bx) = (a.x + a.w / 2.0, b.x + b.w / 2.0);
        let points = if a.y == b.y {
            // Within a row: down from the parent, along below the row, up
            // into the member, so no box between them is crossed.
            let below = a.y + HEIGHT + 14.0;
            vec![
                (ax - 6.0, a.y + HEIGHT),
                (ax - 6.0, below),
                (bx + 6.0, below),
                (bx + 6.0, b.y + HEIGHT),
            ]
        } else {
            let down = a.y < b.y;
            let mut p = vec![(ax, if down { a.y + HEIGHT } else { a.y })];
            let mut through: Vec<(usize, f64)> = row_of_slot[k]
                .iter()
                .enumerate()
                .map(|(s, &r)| (r, x_slot[k][s]))
                .collect();
            if !down {
                through.reverse();
            }
            for (r, x) in through {
                let (y0, y1) = (top(r), top(r) + HEIGHT);
                if down {
                    p.push((x, y0));
                    p.push((x, y1));
                } else {
                    p.push((x, y1));
                    p.push((x, y0));
                }
            }
            p.push((bx, if down { b.y } else { b.y + HEIGHT }));
            p
        };
        let width = match e.kind {
            EdgeKind::Old | EdgeKind::New => 2.0,
            _ => 1.0,
        };
        out.routes.push(Route {
            edge: k,
            points,
            width,
        });
    }
    let rows_n = max_rank as f64 + 1.0;
    let bottom = MARGIN + (rows_n - 1.0) * ROW + HEIGHT;
    // Edge labels: the first place along the edge where the label meets
    // neither a box nor a label placed before it.
    let mut unplaced: Vec<String> = Vec::new();
    let mut order: Vec<usize> = (0..g.edges.len())
        .filter(|&k| !g.edges[k].label.is_empty())
        .collect();
    // Move counts before failover counts: they matter more.
    order.sort_by_key(|&k| (g.edges[k].kind == EdgeKind::Failover, k));
    for k in order {
        let e = &g.edges[k];
        let w = text_width(&e.label) + 4.0;
        let route = &out.routes[k].points;
        let mut placed = None;
        'search: for t in [
            0.6, 0.45, 0.75, 0.3, 0.85, 0.5, 0.2, 0.65, 0.4, 0.8, 0.1, 0.9,
        ] {
            // The last segment crossing a channel between rows, then the others.
            for s in (0..route.len() - 1).rev() {
                let (p, q) = (route[s], route[s + 1]);
                let (lx, ly) = (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
                let r = Rect {
                    x: lx - w / 2.0,
                    y: ly - LABEL_H / 2.0,
                    w,
                    h: LABEL_H,
                };
                let clear = out.boxes.iter().all(|b| !b.rect.overlaps(&r))
                    && out.labels.iter().all(|l| !l.rect.overlaps(&r));
                if clear {
                    placed = Some(r);
                    break 'search;
                }
            }
        }
        match placed {
            Some(rect) => out.labels.push(Label {
                edge: Some(k),
                text: e.label.clone(),
                rect,
                centred: true,
            }),
            None => unplaced.push(format!(
                "{} → {}: {}",
                g.nodes[e.from].label, g.nodes[e.to].label, e.label
            )),
        }
    }
    let mut g_notes = g.clone();
    if !unplaced.is_empty() {
        g_notes.notes.push(format!(
            "counts with no room on their edge: {}",
            unplaced.join("; ")
        ));
    }
    let mut notes_h = 0.0;
    if !g_notes.notes.is_empty() {
        notes_h = notes(&g_notes, bottom + 20.0, &mut out.labels) + 10.0;
    }
    let note_w = out
        .labels
        .iter()
        .filter(|l| l.edge.is_none())
        .map(|l| l.rect.x + l.rect.w)
        .fold(0.0, f64::max);
    out.width = (widest + 2.0 * MARGIN)
        .max(note_w + MARGIN)
        .max(MARGIN * 2.0);
    out.height = bottom + MARGIN + notes_h;
    out
}

/// The flow view: one row per edge, then the "and N more" line and notes.
fn flows(g: &Graph) -> Layout {
    const ROW_H: f64 = 28.0;
    const BOX_H: f64 = 22.0;
    const COLUMN: f64 = 300.0;
    const BAND: f64 = 220.0;
    const COUNT: f64 = 150.0;
    let mut out = Layout::default();
    let mut y = MARGIN;
    let mut top_notes = Vec::new();
    y += notes(g, y, &mut top_notes) + 8.0;
    out.labels.extend(top_notes);
    let fit = |s: &str, room: f64| -> String {
        let max = ((room - 20.0) / CHAR) as usize;
        if s.chars().count() <= max {
            s.to_string()
        } else {
            let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
            t.push('…');
            t
        }
    };
    let left_w = g
        .edges
        .iter()
        .map(|e| text_width(&g.nodes[e.from].label) + 20.0)
        .fold(0.0, f64::max)
        .min(COLUMN);
    let right_w = g
        .edges
        .iter()
        .map(|e| text_width(&g.nodes[e.to].label) + 20.0)
        .fold(0.0, f64::max)
        .min(COLUMN);
    let heaviest = g.edges.iter().map(|e| e.weight).max().unwrap_or(1).max(1) as f64;
    let band_x0 = MARGIN + left_w + 8.0;
    let band_x1 = band_x0 + BAND;
    let right_x = band_x1 + 8.0;
    for (k, e) in g.edges.iter().enumerate() {
        let mid = y + ROW_H / 2.0;
        for (node, x, w) in [(e.from, MARGIN, left_w), (e.to, right_x, right_w)] {
            out.boxes.push(NodeBox {
                node,
                rect: Rect {
                    x,
                    y: mid - BOX_H / 2.0,
                    w,
                    h: BOX_H,
                },
                text: fit(&g.nodes[node].label, w),
            });
        }
        // Widths in proportion to the count: 18 px for the largest.
        let width = (18.0 * e.weight as f64 / heaviest).max(1.0);
        out.routes.push(Route {
            edge: k,
            points: vec![(band_x0, mid), (band_x1, mid)],
            width,
        });
        if !e.label.is_empty() {
            let text = fit(&e.label, COUNT);
            out.labels.push(Label {
                edge: Some(k),
                rect: Rect {
                    x: right_x + right_w + 10.0,
                    y: mid - LABEL_H / 2.0,
                    w: text_width(&text),
                    h: LABEL_H,
                },
                text,
                centred: false,
            });
        }
        y += ROW_H;
    }
    for node in g.nodes.iter().filter(|n| n.kind == super::NodeKind::More) {
        y += 6.0;
        out.labels.push(Label {
            edge: None,
            text: node.label.clone(),
            rect: Rect {
                x: MARGIN,
                y,
                w: text_width(&node.label),
                h: LABEL_H,
            },
            centred: false,
        });
        y += NOTE_LINE;
    }
    let right = out
        .boxes
        .iter()
        .map(|b| b.rect.x + b.rect.w)
        .chain(out.labels.iter().map(|l| l.rect.x + l.rect.w))
        .fold(0.0, f64::max);
    out.width = (right + MARGIN).clamp(2.0 * MARGIN, FLOW_WIDTH);
    out.height = y + MARGIN;
    out
}
