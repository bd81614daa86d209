//! `handover provider check`'s pass/fail list, for people and scripts.
//!
//! Owns the words and layout of [`text`] (a line a check, then a count)
//! and [`json`] (`passed` and the checks). Returns strings; must not print
//! or run a check (that is [`crate::run::check`]).

use crate::run::check::Check;

/// A line a check (`pass` or `FAIL`, its name, what was seen), then how
/// many passed or failed.
pub fn text(checks: &[Check]) -> String {
    let mut t = String::new();
    for c in checks {
        let v = if c.passed { "pass" } else { "FAIL" };
        t.push_str(&format!("{v}  {}: {}\n", c.name, c.detail));
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    t.push_str(&if failed == 0 {
        format!("All {} checks passed.\n", checks.len())
    } else {
        format!("{failed} of {} checks failed.\n", checks.len())
    });
    t
}

/// `{"passed": …, "checks": […]}`, pretty, ending with a newline.
pub fn json(checks: &[Check]) -> String {
    let passed = checks.iter().all(|c| c.passed);
    let doc = serde_json::json!({ "passed": passed, "checks": checks });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).expect("serialises")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &'static str, passed: bool) -> Check {
        Check {
            name,
            passed,
            detail: format!("{name} seen"),
        }
    }

    #[test]
    fn a_line_a_check_then_the_count() {
        assert_eq!(
            text(&[c("observe", true), c("apply", false)]),
            "pass  observe: observe seen\nFAIL  apply: apply seen\n1 of 2 checks failed.\n"
        );
        assert_eq!(
            text(&[c("observe", true)]),
            "pass  observe: observe seen\nAll 1 checks passed.\n"
        );
        let j: serde_json::Value = serde_json::from_str(&json(&[c("apply", false)])).unwrap();
        assert_eq!(j["passed"], false);
        assert_eq!(j["checks"][0]["name"], "apply");
    }
}
