//! The fast path for JSON documents (observed states as providers emit
//! them): the `managementServers`, `gateways` and `agents` arrays read by a
//! strict JSON reader that keeps `line:column`, the rest left to
//! serde-saphyr.
//!
//! Same contract as `load::fast`: it never reports an error. Anything
//! outside strict, plain JSON (escapes, non-ASCII, tabs, control
//! characters, repeated or unknown keys, a value of the wrong type, ...)
//! makes [`split`] return `None` and serde-saphyr reads the whole text.
//! The remainder keeps every line and column of the text: each bulk array
//! becomes `[` + blanks + `]` with its line breaks kept.

use super::fast::{Lit, Member, SECTIONS, Server, Shape, Split};

/// Splits a JSON document whose top level is an object, whatever its size
/// (the caller decides whether it is worth it); `None` means "parse all of
/// it with serde-saphyr".
pub fn split(text: &str, shape: Shape) -> Option<Split<'_>> {
    if !plain(text.as_bytes()) {
        return None;
    }
    let mut r = Reader {
        s: text,
        b: text.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
    };
    let mut out = Split::default();
    let mut arrays: Vec<(usize, usize)> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    r.ws();
    r.eat(b'{')?;
    r.ws();
    if !r.try_eat(b'}') {
        loop {
            r.ws();
            let key = r.string()?.text;
            if keys.contains(&key) || keys.len() > 32 {
                return None;
            }
            keys.push(key);
            r.ws();
            r.eat(b':')?;
            r.ws();
            let start = r.i;
            match key {
                "managementServers" => out.servers = Some(r.servers(shape)?),
                "gateways" => out.gateways = Some(r.members(shape, &mut out.failovers)?),
                "agents" => out.agents = Some(r.members(shape, &mut out.failovers)?),
                _ => r.skip(0)?,
            }
            if r.i > start && r.b[start] == b'[' && SECTIONS.contains(&key) {
                arrays.push((start, r.i));
            }
            r.ws();
            if !r.try_eat(b',') {
                r.eat(b'}')?;
                break;
            }
        }
    }
    r.ws();
    if r.i != r.b.len() {
        return None;
    }
    let mut rem = String::with_capacity(text.len() / 16);
    let mut at = 0;
    for (start, end) in arrays {
        rem.push_str(&text[at..start]);
        let inner = &text[start + 1..end - 1];
        rem.push('[');
        match inner.rfind('\n') {
            Some(last) => {
                for _ in 0..inner.bytes().filter(|b| *b == b'\n').count() {
                    rem.push('\n');
                }
                rem.extend(std::iter::repeat_n(' ', inner.len() - last - 1));
            }
            None => rem.extend(std::iter::repeat_n(' ', inner.len())),
        }
        rem.push(']');
        at = end;
    }
    rem.push_str(&text[at..]);
    out.remainder = rem;
    Some(out)
}

/// No byte that strict, plain JSON of host names needs to escape or that
/// YAML reads differently: ASCII without control characters other than
/// line breaks, no backslash, no tab.
fn plain(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, &c)| match c {
        b'\n' => true,
        b'\r' => b.get(i + 1) == Some(&b'\n'),
        b'\\' => false,
        0x20..=0x7e => true,
        _ => false,
    })
}

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    line: u32,
    line_start: usize,
}

impl<'a> Reader<'a> {
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' | b'\r' => self.i += 1,
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.try_eat(c).then_some(())
    }

    fn try_eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// A string without escapes; its position is its opening quote.
    fn string(&mut self) -> Option<Lit<'a>> {
        let line = self.line;
        let col = u32::try_from(self.i - self.line_start + 1).ok()?;
        self.eat(b'"')?;
        let start = self.i;
        let len = self.b[start..].iter().position(|c| *c == b'"')?;
        self.i = start + len + 1;
        let text = &self.s[start..start + len];
        // A line break inside a string is not JSON.
        (!text.contains('\n')).then_some(Lit { text, line, col })
    }

    fn literal(&mut self) -> Option<Option<bool>> {
        for (word, v) in [("true", Some(true)), ("false", Some(false)), ("null", None)] {
            if self.b[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                return Some(v);
            }
        }
        None
    }

    fn boolean(&mut self) -> Option<bool> {
        self.literal()?
    }

    /// Skips any value but a number (objects, arrays, strings, literals);
    /// a number makes the caller step aside.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > 16 {
            return None;
        }
        match *self.b.get(self.i)? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let close = if self.b[self.i] == b'{' { b'}' } else { b']' };
                let object = close == b'}';
                self.i += 1;
                self.ws();
                if self.try_eat(close) {
                    return Some(());
                }
                loop {
                    self.ws();
                    if object {
                        self.string()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    self.skip(depth + 1)?;
                    self.ws();
                    if !self.try_eat(b',') {
                        return self.eat(close);
                    }
                }
            }
            b't' | b'f' | b'n' => self.literal().map(|_| ()),
            _ => None,
        }
    }

    /// `[ {...}, ... ]` calling `item` for each object's `key: value`s.
    fn objects(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.try_eat(b']') {
            return Some(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            if !self.try_eat(b',') {
                return self.eat(b']');
            }
        }
    }

    /// `{ "key": value, ... }`: calls `field` with each key; refuses a key
    /// given twice (by the bit `field` returns for it).
    fn fields(&mut self, mut field: impl FnMut(&mut Self, &str) -> Option<u32>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.try_eat(b'}') {
            return Some(());
        }
        let mut seen = 0u32;
        loop {
            self.ws();
            let key = self.string()?.text;
            self.ws();
            self.eat(b':')?;
            self.ws();
            let bit = field(self, key)?;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            self.ws();
            if !self.try_eat(b',') {
                return self.eat(b'}');
            }
        }
    }

    fn servers(&mut self, shape: Shape) -> Option<Vec<Server<'a>>> {
        let mut out = Vec::new();
        self.objects(|r| {
            let (mut name, mut up) = (None, None);
            r.fields(|r, key| match key {
                "name" => {
                    name = Some(r.string()?);
                    Some(1)
                }
                "up" if shape == Shape::Observed => {
                    up = Some(r.boolean()?);
                    Some(2)
                }
                _ => None,
            })?;
            out.push(Server { name: name?, up });
            Some(())
        })?;
        Some(out)
    }

    fn members(&mut self, shape: Shape, failovers: &mut Vec<Lit<'a>>) -> Option<Vec<Member<'a>>> {
        let observed = shape == Shape::Observed;
        let mut out = Vec::new();
        self.objects(|r| {
            let (mut name, mut primary, mut failover) = (None, None, None);
            let (mut connected, mut up, mut ready) = (None, None, None);
            r.fields(|r, key| match key {
                "name" => {
                    name = Some(r.string()?);
                    Some(1)
                }
                "primary" => {
                    primary = Some(r.string()?);
                    Some(2)
                }
                "failover" => {
                    let start = failovers.len();
                    r.eat(b'[')?;
                    r.ws();
                    if !r.try_eat(b']') {
                        loop {
                            r.ws();
                            failovers.push(r.string()?);
                            r.ws();
                            if !r.try_eat(b',') {
                                r.eat(b']')?;
                                break;
                            }
                        }
                    }
                    failover = Some(start..failovers.len());
                    Some(4)
                }
                "connected" if observed => {
                    connected = if r.b.get(r.i) == Some(&b'"') {
                        Some(r.string()?)
                    } else {
                        r.literal()?.map_or(Some(()), |_| None)?;
                        None
                    };
                    Some(8)
                }
                "up" if observed => {
                    up = Some(r.boolean()?);
                    Some(16)
                }
                "ready" if observed => {
                    ready = Some(r.boolean()?);
                    Some(32)
                }
                _ => None,
            })?;
            let at = failovers.len();
            out.push(Member {
                name: name?,
                primary: primary?,
                failover: failover.unwrap_or(at..at),
                connected,
                up,
                ready,
            });
            Some(())
        })?;
        Some(out)
    }
}
