//! The plan file: docs/spec.md section 4 JSON, stable byte for byte.
//!
//! Owns the one serialisation `plan --format json` prints and `plan --out`
//! writes: pretty-printed, fields in declaration order, a final newline.

use crate::plan::Plan;

/// The plan as JSON text, ending with a newline.
pub fn render(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).expect("a plan always serialises");
    s.push('\n');
    s
}
