//! Quoting text for PowerShell: the one function every generated script
//! writes a name through.
//!
//! Owns [`quote`]. The plan script ([`super::powershell`]) and the store
//! steps ([`super::store`]) both use it, so neither imports the other for
//! it. Must not know about plans.

/// A PowerShell single-quoted string literal: `'...'` with every quote
/// doubled. PowerShell also takes the typographic single quotes (U+2018,
/// U+2019, U+201A, U+201B) as quote characters, so they are doubled too:
/// no input can end the literal early.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_so_no_name_ends_the_literal() {
        assert_eq!(quote("gw1.dmz"), "'gw1.dmz'");
        assert_eq!(
            quote("x'; Remove-Item C:\\ -Recurse; '"),
            "'x''; Remove-Item C:\\ -Recurse; '''"
        );
        assert_eq!(quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(quote("$(evil) `n"), "'$(evil) `n'");
        // Every quote character inside comes in pairs: the literal only ends
        // at the last character.
        let q = quote("'\u{2018}'\u{201B}x'");
        let inner: Vec<char> = q.chars().skip(1).collect();
        let inner = &inner[..inner.len() - 1];
        let mut i = 0;
        while i < inner.len() {
            if matches!(
                inner[i],
                '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}'
            ) {
                assert_eq!(inner[i], inner[i + 1], "{q}");
                i += 2;
            } else {
                i += 1;
            }
        }
    }
}
