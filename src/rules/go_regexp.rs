//! A syntax check that accepts exactly what Go's `regexp.Compile` accepts (package
//! `regexp/syntax`, Perl flags), and refuses the rest with Go's reason.
//!
//! ci-images-mirror compiles `artImages` patterns with Go, so neither a stricter nor a looser
//! engine will do: Rust's `regex` refuses `\Q…\E`, duplicate group names and Unicode `\w{1000}`
//! (its size limit), which Go accepts, and accepts nested repeats such as `(a{500}){3}`, which Go
//! refuses. Nothing is compiled here; the parser follows Go's grammar and limits and builds only
//! the little it needs to apply them: the size, height and repeat nesting of each subexpression.
//!
//! Followed as Go 1.22 to 1.24 behave (ci-tools builds with Go 1.23+): `(?<name>…)` is accepted
//! (Go 1.22); `\p{…}` names are Go's exact category and script names (Unicode 15.0), without the
//! loose spellings such as `\p{Letter}` that Go 1.25 added.

use std::fmt;
use std::ops::Range;

/// Go's largest count in `x{n,m}`, which is also the limit on the product of nested counts.
const MAX_REPEAT: u64 = 1000;
/// Go's largest compiled program, in instructions (128 MiB of 40-byte instructions).
const MAX_SIZE: u64 = (128 << 20) / 40;
/// Go's deepest parse tree.
const MAX_HEIGHT: u32 = 1000;

/// Why Go refuses a pattern, worded as Go's `regexp/syntax.ErrorCode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    InvalidCharRange,
    InvalidEscape,
    InvalidNamedCapture,
    InvalidPerlOp,
    InvalidRepeatOp,
    InvalidRepeatSize,
    MissingBracket,
    MissingParen,
    MissingRepeatArgument,
    TrailingBackslash,
    UnexpectedParen,
    NestingDepth,
    Large,
}

impl ErrorCode {
    fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidCharRange => "invalid character class range",
            ErrorCode::InvalidEscape => "invalid escape sequence",
            ErrorCode::InvalidNamedCapture => "invalid named capture",
            ErrorCode::InvalidPerlOp => "invalid or unsupported Perl syntax",
            ErrorCode::InvalidRepeatOp => "invalid nested repetition operator",
            ErrorCode::InvalidRepeatSize => "invalid repeat count",
            ErrorCode::MissingBracket => "missing closing ]",
            ErrorCode::MissingParen => "missing closing )",
            ErrorCode::MissingRepeatArgument => "missing argument to repetition operator",
            ErrorCode::TrailingBackslash => "trailing backslash at end of expression",
            ErrorCode::UnexpectedParen => "unexpected )",
            ErrorCode::NestingDepth => "expression nests too deeply",
            ErrorCode::Large => "expression too large",
        }
    }
}

/// A pattern Go refuses: Go's code and quoted text (`missing closing ]: `[a``), and the bytes of
/// the pattern to point at, which for a missing `)` is the unclosed `(` rather than Go's whole
/// expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub code: ErrorCode,
    pub expr: String,
    pub at: Range<usize>,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}`", self.code.as_str(), self.expr)
    }
}

/// Checks `pattern` as Go's `regexp.Compile` parses it.
pub(crate) fn check(pattern: &str) -> Result<(), SyntaxError> {
    Parser::new(pattern).run()
}

/// What Go's limits need to know of a parsed subexpression.
#[derive(Clone, Copy, Debug)]
struct Node {
    shape: Shape,
    /// Go's estimate of the compiled size (`calcSize`).
    size: u64,
    /// Height of Go's parse tree.
    height: u32,
    /// How many nodes Go's parser at least allocated for it, which decides whether Go applies
    /// its size limit at all.
    nodes: u64,
    /// The smallest repeat budget this subexpression fits in: Go's nested-repeat check passes
    /// for a budget `n` when `n >= need`.
    need: u64,
}

/// The kinds of node that Go merges or flattens into their neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Literal,
    Concat,
    Alternate,
    Other,
}

impl Node {
    const LITERAL: Node = Node::leaf(Shape::Literal);
    const OTHER: Node = Node::leaf(Shape::Other);

    const fn leaf(shape: Shape) -> Node {
        Node {
            shape,
            size: 1,
            height: 1,
            nodes: 1,
            need: 0,
        }
    }

    /// A node over one subexpression, adding `cost` instructions.
    fn wrap(sub: Node, cost: u64) -> Node {
        Node {
            shape: Shape::Other,
            size: sub.size.saturating_add(cost),
            height: sub.height + 1,
            nodes: sub.nodes + 1,
            need: sub.need,
        }
    }

    /// How much height this node adds inside a parent of `shape`, which absorbs its children
    /// when they are of the same shape, as Go's `collapse` does.
    fn height_in(&self, shape: Shape) -> u32 {
        if self.shape == shape {
            self.height - 1
        } else {
            self.height
        }
    }
}

/// `x{min,max}` (`max` is `None` for `x{min,}`) as Go sizes it and budgets nested counts.
fn counted_repeat(sub: Node, min: u64, max: Option<u64>) -> Node {
    let size = match max {
        None if min == 0 => sub.size.saturating_add(2),
        None => min.saturating_mul(sub.size).saturating_add(1),
        Some(max) => max.saturating_mul(sub.size).saturating_add(max - min),
    }
    .max(1);
    // Go counts `max`, or `min` when unbounded; a count of 0 empties the subexpression, and
    // `x{0,}` counts as nothing.
    let count = max.unwrap_or(min);
    let need = match (max, count) {
        (Some(0), _) => 0,
        (_, 0) => sub.need,
        (_, count) => count.max(count.saturating_mul(sub.need)),
    };
    Node {
        shape: Shape::Other,
        size,
        height: sub.height + 1,
        nodes: sub.nodes + 1,
        need,
    }
}

/// Go's concatenation of `items`: adjacent literals merge, nested concatenations flatten.
fn concatenation(items: &[Node]) -> Node {
    let mut merged: Vec<Node> = Vec::with_capacity(items.len());
    for &item in items {
        match merged.last_mut() {
            Some(last) if last.shape == Shape::Literal && item.shape == Shape::Literal => {
                last.size += item.size;
            }
            _ => merged.push(item),
        }
    }
    match merged.as_slice() {
        [] => Node::OTHER,
        [one] => *one,
        many => Node {
            shape: Shape::Concat,
            size: many.iter().fold(0, |sum, n| sum.saturating_add(n.size)),
            height: 1 + many
                .iter()
                .map(|n| n.height_in(Shape::Concat))
                .max()
                .unwrap_or(0),
            nodes: 1 + many.iter().map(|n| n.nodes).sum::<u64>(),
            need: many.iter().map(|n| n.need).max().unwrap_or(0),
        },
    }
}

/// Go's alternation of `branches`. Go factors common prefixes out of the branches before it
/// measures the size, which only ever shrinks it down to the largest branch; counting that branch
/// keeps the limit from refusing what Go accepts, at the cost of missing a huge alternation Go
/// would call too large.
fn alternation(branches: &[Node]) -> Node {
    match branches {
        [] => Node::OTHER,
        [one] => *one,
        many => Node {
            shape: Shape::Alternate,
            size: many.iter().map(|n| n.size).max().unwrap_or(1),
            height: 1 + many
                .iter()
                .map(|n| n.height_in(Shape::Alternate))
                .max()
                .unwrap_or(0),
            // Every branch was on Go's parse stack at once before the alternation was built.
            nodes: 1 + many.iter().map(|n| n.nodes).sum::<u64>(),
            need: many.iter().map(|n| n.need).max().unwrap_or(0),
        },
    }
}

/// A group being parsed: the branches before its last `|` and the items after it.
#[derive(Default)]
struct Group {
    /// Where its `(` is; `None` for the whole pattern.
    open: Option<usize>,
    capture: bool,
    branches: Vec<Node>,
    items: Vec<Node>,
}

impl Group {
    fn finish(mut self) -> Node {
        let last = concatenation(&self.items);
        self.branches.push(last);
        alternation(&self.branches)
    }
}

struct Parser<'p> {
    pattern: &'p str,
    pos: usize,
    /// The enclosing groups, outermost first; `current` is the innermost.
    outer: Vec<Group>,
    current: Group,
    /// Where the repetition operator just before `pos` starts, if the last token was one.
    last_repeat: Option<usize>,
    /// The product of every count Go has seen, capped at `MAX_SIZE`: Go skips its size limit
    /// while the nodes it allocated times this stay under the limit.
    repeats: u64,
}

impl<'p> Parser<'p> {
    fn new(pattern: &'p str) -> Self {
        Parser {
            pattern,
            pos: 0,
            outer: Vec::new(),
            current: Group::default(),
            last_repeat: None,
            repeats: 1,
        }
    }

    fn rest(&self) -> &'p str {
        &self.pattern[self.pos..]
    }

    fn error(&self, code: ErrorCode, at: Range<usize>) -> SyntaxError {
        error_at(self.pattern, code, at)
    }

    /// An error whose text is the whole pattern, as Go words it, pointing at `at`.
    fn whole_error(&self, code: ErrorCode, at: Range<usize>) -> SyntaxError {
        SyntaxError {
            code,
            expr: self.pattern.to_owned(),
            at,
        }
    }

    fn run(mut self) -> Result<(), SyntaxError> {
        while self.pos < self.pattern.len() {
            self.last_repeat = self.token()?;
        }
        if let Some(open) = self.current.open {
            return Err(self.whole_error(ErrorCode::MissingParen, open..open + 1));
        }
        let whole = std::mem::take(&mut self.current).finish();
        self.check_height(whole)?;
        self.check_size(whole)
    }

    /// Parses one token; returns where it starts when it was a repetition operator.
    fn token(&mut self) -> Result<Option<usize>, SyntaxError> {
        let start = self.pos;
        match self.rest().as_bytes()[0] {
            b'(' if self.rest().as_bytes().get(1) == Some(&b'?') => self.perl_group()?,
            b'(' => self.open(true, start + 1),
            b'|' => {
                let branch = concatenation(&std::mem::take(&mut self.current.items));
                self.check_height(branch)?;
                self.current.branches.push(branch);
                self.pos += 1;
            }
            b')' => self.close()?,
            b'^' | b'$' | b'.' => {
                self.current.items.push(Node::OTHER);
                self.pos += 1;
            }
            b'[' => self.class()?,
            b'*' | b'+' | b'?' => {
                let cost = if self.rest().starts_with('*') { 2 } else { 1 };
                self.pos += 1;
                self.apply_repeat(start, |sub| Node::wrap(sub, cost), false)?;
                return Ok(Some(start));
            }
            b'{' => return self.brace(),
            b'\\' => self.escape()?,
            _ => self.literal_char(),
        }
        Ok(None)
    }

    fn literal_char(&mut self) {
        let c = self.rest().chars().next().unwrap_or_default();
        self.pos += c.len_utf8();
        self.current.items.push(Node::LITERAL);
    }

    /// Opens a group whose `(` is at `self.pos` and whose contents start at `contents`.
    fn open(&mut self, capture: bool, contents: usize) {
        let group = Group {
            open: Some(self.pos),
            capture,
            ..Group::default()
        };
        self.outer.push(std::mem::replace(&mut self.current, group));
        self.pos = contents;
    }

    fn close(&mut self) -> Result<(), SyntaxError> {
        let at = self.pos..self.pos + 1;
        let Some(parent) = self.outer.pop() else {
            return Err(self.whole_error(ErrorCode::UnexpectedParen, at));
        };
        let group = std::mem::replace(&mut self.current, parent);
        let capture = group.capture;
        let inner = group.finish();
        self.check_height(inner)?;
        let node = if capture { Node::wrap(inner, 2) } else { inner };
        self.check_height(node)?;
        self.current.items.push(node);
        self.pos += 1;
        Ok(())
    }

    /// Go's limit on the height of every subexpression it builds.
    fn check_height(&self, node: Node) -> Result<(), SyntaxError> {
        if node.height > MAX_HEIGHT {
            let everything = 0..self.pattern.len();
            return Err(self.whole_error(ErrorCode::NestingDepth, everything));
        }
        Ok(())
    }

    /// Go's limit on the compiled size. Go applies it only once the nodes it allocated times
    /// the counts it saw reach the limit, so a long literal under `{1000}` passes (one node);
    /// refused here is only what Go certainly refuses, as the whole pattern's size and nodes
    /// bound every part's from below.
    fn check_size(&self, whole: Node) -> Result<(), SyntaxError> {
        if whole.size > MAX_SIZE && whole.nodes >= MAX_SIZE / self.repeats {
            let everything = 0..self.pattern.len();
            return Err(self.whole_error(ErrorCode::Large, everything));
        }
        Ok(())
    }

    fn count_repeat(&mut self, count: u64) {
        let count = count.max(1);
        self.repeats = if count > MAX_SIZE / self.repeats {
            MAX_SIZE
        } else {
            self.repeats * count
        };
    }
}

/// Repetition: `*`, `+`, `?` and `{n,m}`, each optionally followed by `?` (non-greedy).
impl Parser<'_> {
    /// `{` starts a counted repetition only when `{n}`, `{n,}` or `{n,m}` follows; otherwise it
    /// is a literal, and so is `x{,3}`.
    fn brace(&mut self) -> Result<Option<usize>, SyntaxError> {
        let start = self.pos;
        let Some((min, max, end)) = parse_counts(self.pattern, start) else {
            self.pos += 1;
            self.current.items.push(Node::LITERAL);
            return Ok(None);
        };
        let too_big = |n: i64| !(0..=MAX_REPEAT as i64).contains(&n);
        if too_big(min) || max.is_some_and(|max| too_big(max) || min > max) {
            return Err(self.error(ErrorCode::InvalidRepeatSize, start..end));
        }
        let (min, max) = (min.unsigned_abs(), max.map(i64::unsigned_abs));
        self.pos = end;
        self.count_repeat(max.unwrap_or(min));
        let checks_nesting = min >= 2 || max.is_some_and(|max| max >= 2);
        self.apply_repeat(start, |sub| counted_repeat(sub, min, max), checks_nesting)?;
        Ok(Some(start))
    }

    /// Applies the operator that starts at `start` (and ends at `self.pos`) to the last item,
    /// refusing what Go refuses in Go's order.
    fn apply_repeat(
        &mut self,
        start: usize,
        build: impl FnOnce(Node) -> Node,
        checks_nesting: bool,
    ) -> Result<(), SyntaxError> {
        if self.rest().starts_with('?') {
            self.pos += 1;
        }
        // Perl, and so Go, refuses to stack operators: `a**` is no doubled star, and `a++` is a
        // possessive repeat that Go does not have.
        if let Some(previous) = self.last_repeat {
            return Err(self.error(ErrorCode::InvalidRepeatOp, previous..self.pos));
        }
        let Some(sub) = self.current.items.pop() else {
            return Err(self.error(ErrorCode::MissingRepeatArgument, start..self.pos));
        };
        let node = build(sub);
        self.check_height(node)?;
        if checks_nesting && node.need > MAX_REPEAT {
            return Err(self.error(ErrorCode::InvalidRepeatSize, start..self.pos));
        }
        self.current.items.push(node);
        Ok(())
    }
}

/// `{min}`, `{min,}` or `{min,max}` at `start`: the counts (`-1` when a number is too big to
/// read, as Go's `parseInt` says) and where the braces end; `None` when the text is not one.
fn parse_counts(pattern: &str, start: usize) -> Option<(i64, Option<i64>, usize)> {
    let bytes = pattern.as_bytes();
    let (min, mut at) = parse_count(bytes, start + 1)?;
    let max = match bytes.get(at)? {
        b',' if bytes.get(at + 1) == Some(&b'}') => {
            at += 1;
            None
        }
        b',' => {
            let (max, end) = parse_count(bytes, at + 1)?;
            at = end;
            Some(max)
        }
        _ => Some(min),
    };
    let min = if max == Some(-1) { -1 } else { min };
    (bytes.get(at) == Some(&b'}')).then_some((min, max, at + 1))
}

/// A decimal count without leading zeros at `start`, and where it ends; `-1` for one of nine
/// digits or more, which Go stops reading.
fn parse_count(bytes: &[u8], start: usize) -> Option<(i64, usize)> {
    let digits = bytes[start.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || (digits > 1 && bytes[start] == b'0') {
        return None;
    }
    let mut value: i64 = 0;
    for &digit in &bytes[start..start + digits] {
        if value >= 100_000_000 {
            value = -1;
            break;
        }
        value = value * 10 + i64::from(digit - b'0');
    }
    Some((value, start + digits))
}

/// Groups: `(...)`, `(?:...)`, `(?P<name>...)`, `(?<name>...)`, and flags `(?i)`, `(?s-m:...)`.
impl Parser<'_> {
    fn perl_group(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let rest = self.rest().as_bytes();
        let named_p = rest.len() > 4 && rest[2] == b'P' && rest[3] == b'<';
        let named = rest.len() > 3 && rest[2] == b'<';
        if named_p || named {
            return self.named_group(if named_p { 4 } else { 3 });
        }
        let mut negated = false;
        let mut saw_flag = false;
        let mut at = start + 2;
        while let Some(c) = self.pattern[at..].chars().next() {
            at += c.len_utf8();
            match c {
                'i' | 'm' | 's' | 'U' => saw_flag = true,
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                }
                ':' | ')' if !negated || saw_flag => {
                    if c == ':' {
                        self.open(false, at);
                    } else {
                        self.pos = at;
                    }
                    return Ok(());
                }
                _ => break,
            }
        }
        Err(self.error(ErrorCode::InvalidPerlOp, start..at))
    }

    /// `(?P<name>` or `(?<name>`, the name starting `name_at` bytes after the `(`. Go looks for
    /// the first `>` anywhere after it, so a look-behind `(?<=…)` is an invalid named capture.
    fn named_group(&mut self, name_at: usize) -> Result<(), SyntaxError> {
        let start = self.pos;
        let Some(end) = self.rest().find('>') else {
            return Err(self.error(ErrorCode::InvalidNamedCapture, start..self.pattern.len()));
        };
        let name = &self.rest()[name_at..end];
        // Go allows the same name twice; only the spelling matters.
        if name.is_empty() || !name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) {
            return Err(self.error(ErrorCode::InvalidNamedCapture, start..start + end + 1));
        }
        self.open(true, start + end + 1);
        Ok(())
    }
}

/// Escapes outside a class: assertions, `\Q…\E`, Unicode and Perl classes, single characters.
impl Parser<'_> {
    fn escape(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        match self.rest().as_bytes().get(1) {
            Some(b'A' | b'b' | b'B' | b'z') => {
                self.pos += 2;
                self.current.items.push(Node::OTHER);
                return Ok(());
            }
            // Go has no "any byte" escape.
            Some(b'C') => return Err(self.error(ErrorCode::InvalidEscape, start..start + 2)),
            Some(b'Q') => {
                self.quoted();
                return Ok(());
            }
            Some(b'p' | b'P') => {
                self.pos = unicode_class(self.pattern, start)?;
                self.current.items.push(Node::OTHER);
                return Ok(());
            }
            _ => {}
        }
        if let Some(end) = perl_class(self.pattern, start) {
            self.pos = end;
            self.current.items.push(Node::OTHER);
            return Ok(());
        }
        let (_, end) = single_escape(self.pattern, start)?;
        self.pos = end;
        self.current.items.push(Node::LITERAL);
        Ok(())
    }

    /// `\Q…\E`: literal text up to `\E` or the end of the pattern.
    fn quoted(&mut self) {
        let text_start = self.pos + 2;
        let text = &self.pattern[text_start..];
        let (literal, after) = match text.find("\\E") {
            Some(end) => (&text[..end], text_start + end + 2),
            None => (text, self.pattern.len()),
        };
        for _ in literal.chars() {
            self.current.items.push(Node::LITERAL);
        }
        self.pos = after;
    }

    /// `[...]`, with negation, ranges, POSIX `[:name:]`, `\p` and Perl classes, and escapes.
    fn class(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let mut at = start + 1;
        if self.pattern[at..].starts_with('^') {
            at += 1;
        }
        let mut first = true;
        loop {
            let rest = &self.pattern[at..];
            if rest.is_empty() {
                return Err(self.error(ErrorCode::MissingBracket, start..self.pattern.len()));
            }
            // `]` first in a class is a literal `]`.
            if rest.starts_with(']') && !first {
                break;
            }
            first = false;
            if let Some(end) = posix_class(self.pattern, at)? {
                at = end;
            } else if rest.starts_with("\\p") || rest.starts_with("\\P") {
                at = unicode_class(self.pattern, at)?;
            } else if let Some(end) = perl_class(self.pattern, at) {
                at = end;
            } else {
                at = self.class_range(start, at)?;
            }
        }
        self.pos = at + 1;
        self.current.items.push(Node::OTHER);
        Ok(())
    }

    /// A class character or range `lo-hi` at `at` in the class that opens at `class_start`;
    /// returns where it ends. `-` before the closing `]` is a literal.
    fn class_range(&self, class_start: usize, at: usize) -> Result<usize, SyntaxError> {
        let (lo, mut end) = self.class_char(class_start, at)?;
        let after = &self.pattern.as_bytes()[end..];
        if after.len() >= 2 && after[0] == b'-' && after[1] != b']' {
            let (hi, hi_end) = self.class_char(class_start, end + 1)?;
            if hi < lo {
                return Err(self.error(ErrorCode::InvalidCharRange, at..hi_end));
            }
            end = hi_end;
        }
        Ok(end)
    }

    fn class_char(&self, class_start: usize, at: usize) -> Result<(u32, usize), SyntaxError> {
        let Some(c) = self.pattern[at..].chars().next() else {
            return Err(self.error(ErrorCode::MissingBracket, class_start..self.pattern.len()));
        };
        if c == '\\' {
            return single_escape(self.pattern, at);
        }
        Ok((u32::from(c), at + c.len_utf8()))
    }
}

fn error_at(pattern: &str, code: ErrorCode, at: Range<usize>) -> SyntaxError {
    SyntaxError {
        code,
        expr: pattern[at.clone()].to_owned(),
        at,
    }
}

/// `\d \D \s \S \w \W` at `at` (ASCII classes in Go); where it ends.
fn perl_class(pattern: &str, at: usize) -> Option<usize> {
    let rest = &pattern.as_bytes()[at..];
    (rest.len() >= 2 && rest[0] == b'\\' && b"dDsSwW".contains(&rest[1])).then_some(at + 2)
}

/// `[:name:]` or `[:^name:]` at `at` inside a class; where it ends. Go takes everything up to
/// the next `:]` as the name, and refuses a name it does not know.
fn posix_class(pattern: &str, at: usize) -> Result<Option<usize>, SyntaxError> {
    let rest = &pattern[at..];
    if rest.len() <= 2 || !rest.starts_with("[:") {
        return Ok(None);
    }
    let Some(colon) = rest[2..].find(":]") else {
        return Ok(None);
    };
    let end = at + 2 + colon + 2;
    let name = &pattern[at + 2..end - 2];
    let name = name.strip_prefix('^').unwrap_or(name);
    if POSIX_CLASSES.contains(&name) {
        Ok(Some(end))
    } else {
        Err(error_at(pattern, ErrorCode::InvalidCharRange, at..end))
    }
}

/// `\pN`, `\p{Name}`, `\PN`, `\P{Name}` or `\p{^Name}` at `at`; where it ends.
fn unicode_class(pattern: &str, at: usize) -> Result<usize, SyntaxError> {
    let after = at + 2;
    let (name, end) = match pattern[after..].chars().next() {
        Some('{') => match pattern[at..].find('}') {
            Some(close) => (&pattern[after + 1..at + close], at + close + 1),
            None => {
                return Err(error_at(
                    pattern,
                    ErrorCode::InvalidCharRange,
                    at..pattern.len(),
                ));
            }
        },
        Some(c) => (&pattern[after..after + c.len_utf8()], after + c.len_utf8()),
        None => ("", after),
    };
    let name = name.strip_prefix('^').unwrap_or(name);
    if name == "Any" || CATEGORIES.contains(&name) || SCRIPTS.binary_search(&name).is_ok() {
        Ok(end)
    } else {
        Err(error_at(pattern, ErrorCode::InvalidCharRange, at..end))
    }
}

/// An escape that stands for one character, at the `\` at `at`: the code point and where the
/// escape ends. Go knows octal, hexadecimal, the C escapes but `\b`, and any ASCII punctuation;
/// every other letter or digit is refused, `\8`, `\e` and `\Z` among them, and so is a single
/// digit `\1`, which would be a back-reference.
fn single_escape(pattern: &str, at: usize) -> Result<(u32, usize), SyntaxError> {
    let invalid = |end: usize| error_at(pattern, ErrorCode::InvalidEscape, at..end);
    let mut chars = pattern[at + 1..].chars();
    let Some(c) = chars.next() else {
        return Err(SyntaxError {
            code: ErrorCode::TrailingBackslash,
            expr: String::new(),
            at: at..at + 1,
        });
    };
    let after = at + 1 + c.len_utf8();
    let is_octal = |i: usize| {
        pattern
            .as_bytes()
            .get(i)
            .is_some_and(|b| (b'0'..=b'7').contains(b))
    };
    match c {
        '1'..='7' if !is_octal(after) => Err(invalid(after)),
        '0'..='7' => {
            let mut value = u32::from(c) - u32::from('0');
            let mut end = after;
            while end < after + 2 && is_octal(end) {
                value = value * 8 + u32::from(pattern.as_bytes()[end] - b'0');
                end += 1;
            }
            Ok((value, end))
        }
        'x' => hex_escape(pattern, at),
        'a' => Ok((0x07, after)),
        'f' => Ok((0x0C, after)),
        'n' => Ok((0x0A, after)),
        'r' => Ok((0x0D, after)),
        't' => Ok((0x09, after)),
        'v' => Ok((0x0B, after)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((u32::from(c), after)),
        _ => Err(invalid(after)),
    }
}

/// `\xHH` or `\x{H…}` (at least one hex digit, at most U+10FFFF) at the `\` at `at`.
fn hex_escape(pattern: &str, at: usize) -> Result<(u32, usize), SyntaxError> {
    let invalid = |end: usize| error_at(pattern, ErrorCode::InvalidEscape, at..end);
    let mut end = at + 2;
    let mut next = || {
        let c = pattern[end..].chars().next();
        end += c.map_or(0, char::len_utf8);
        c
    };
    match next() {
        None => Err(invalid(at + 2)),
        Some('{') => {
            let mut value: u32 = 0;
            let mut digits = 0;
            loop {
                match next() {
                    None => return Err(invalid(end)),
                    Some('}') if digits > 0 => return Ok((value, end)),
                    Some(c) => match c.to_digit(16) {
                        Some(digit) if value * 16 + digit <= 0x10_FFFF => {
                            value = value * 16 + digit;
                            digits += 1;
                        }
                        _ => return Err(invalid(end)),
                    },
                }
            }
        }
        Some(high) => {
            let low = next();
            match (high.to_digit(16), low.and_then(|c| c.to_digit(16))) {
                (Some(high), Some(low)) => Ok((high * 16 + low, end)),
                _ => Err(invalid(end)),
            }
        }
    }
}

/// The POSIX classes Go knows inside `[...]`, each also negated as `[:^name:]`.
const POSIX_CLASSES: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Go's `unicode.Categories` keys up to Go 1.24.
const CATEGORIES: [&str; 36] = [
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
    "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So",
    "Z", "Zl", "Zp", "Zs",
];

/// Go's `unicode.Scripts` keys (Unicode 15.0, Go 1.21 to 1.24), sorted.
const SCRIPTS: [&str; 163] = [
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's verdict on each pattern: `None` for accepted, else the text after
    /// `error parsing regexp: `, as `regexp.Compile` reports it.
    const VERDICTS: &[(&str, Option<&str>)] = &[
        // The patterns of openshift/release's _config.yaml.
        ("^release$", None),
        ("^builder$", None),
        ("^scos.*", None),
        (r"^\d+\.\d+$", None),
        ("^rhel-coreos.*", None),
        ("^base-rhel.*$", None),
        // Literals and escapes.
        ("", None),
        ("abc", None),
        ("é+", None),
        (r"\a\f\t\n\r\v", None),
        (r"\0\07\077\0777\1234", None),
        (r"\12", None),
        (r"\x41\x{41}\x{10FFFF}\x{0}", None),
        (r"\.\-\_\ \/\#\}\{\]\[\(\)\*\+\?\|\^\$\\", None),
        (r"\A\z\b\B", None),
        (r"\d\D\s\S\w\W", None),
        (
            r"\pL\pN\p{Greek}\PL\P{Greek}\p{^Greek}\P{^Greek}\p{Any}\p{Lu}",
            None,
        ),
        (r"\p{Han}\p{Old_Italic}\p{Kawi}\p{Zs}", None),
        (r"\QA.*\E+", None),
        (r"\Q(unclosed", None),
        (
            r"\Q\E*",
            Some("missing argument to repetition operator: `*`"),
        ),
        (r"\w{1000}", None),
        (r"\pL{1000}", None),
        (r"\8", Some(r"invalid escape sequence: `\8`")),
        (r"\1", Some(r"invalid escape sequence: `\1`")),
        (r"a\9", Some(r"invalid escape sequence: `\9`")),
        (r"\Z", Some(r"invalid escape sequence: `\Z`")),
        (r"\e", Some(r"invalid escape sequence: `\e`")),
        (r"\C", Some(r"invalid escape sequence: `\C`")),
        (r"\G", Some(r"invalid escape sequence: `\G`")),
        (r"\k<a>", Some(r"invalid escape sequence: `\k`")),
        (r"\é", Some(r"invalid escape sequence: `\é`")),
        (r"\x", Some(r"invalid escape sequence: `\x`")),
        (r"\xZZ", Some(r"invalid escape sequence: `\xZZ`")),
        (r"\xA", Some(r"invalid escape sequence: `\xA`")),
        (r"\x{}", Some(r"invalid escape sequence: `\x{}`")),
        (r"\x{12", Some(r"invalid escape sequence: `\x{12`")),
        (r"\x{zz}", Some(r"invalid escape sequence: `\x{z`")),
        (r"\x{110000}", Some(r"invalid escape sequence: `\x{110000`")),
        (
            r"\p{Letter}",
            Some(r"invalid character class range: `\p{Letter}`"),
        ),
        (
            r"\p{greek}",
            Some(r"invalid character class range: `\p{greek}`"),
        ),
        (r"\pX", Some(r"invalid character class range: `\pX`")),
        (r"\p{}", Some(r"invalid character class range: `\p{}`")),
        (r"\p", Some(r"invalid character class range: `\p`")),
        (
            r"\p{Greek",
            Some(r"invalid character class range: `\p{Greek`"),
        ),
        ("a\\", Some("trailing backslash at end of expression: ``")),
        // Character classes.
        ("[a-z0-9_.-]", None),
        ("[^a]", None),
        ("[]a]", None),
        ("[^]a]", None),
        ("[a-]", None),
        ("[-a]", None),
        ("[a-b-c]", None),
        ("[[:alpha:]]", None),
        ("[[:^digit:][:word:]x]", None),
        (r"[\d\pL\p{Greek}.\]\\\n\x41-\x{5A}]", None),
        ("[[]", None),
        ("[z-a]", Some("invalid character class range: `z-a`")),
        (
            r"[\x{5A}-A]",
            Some(r"invalid character class range: `\x{5A}-A`"),
        ),
        (
            "[[:foo:]]",
            Some("invalid character class range: `[:foo:]`"),
        ),
        ("[[:alpha:]", Some("missing closing ]: `[[:alpha:]`")),
        ("[a", Some("missing closing ]: `[a`")),
        ("x[]", Some("missing closing ]: `[]`")),
        ("[a-", Some("missing closing ]: `[a-`")),
        (r"[\b]", Some(r"invalid escape sequence: `\b`")),
        (r"[a-\d]", Some(r"invalid escape sequence: `\d`")),
        (r"[\Q]", Some(r"invalid escape sequence: `\Q`")),
        (
            r"[\p{Foo}]",
            Some(r"invalid character class range: `\p{Foo}`"),
        ),
        // Groups and flags.
        ("(a)(b)", None),
        ("(?:a|b)", None),
        ("(?P<major>\\d+)\\.(?P<minor>\\d+)", None),
        ("(?<name>a)", None),
        ("(?P<x>a)(?P<x>b)", None),
        ("(?i)abc", None),
        ("(?ims-U:a)", None),
        ("(?-i:a)", None),
        ("(?i-s)a", None),
        ("(?)", None),
        ("()", None),
        ("(|a)", None),
        ("a(?i)*", None),
        ("(?P<>a)", Some("invalid named capture: `(?P<>`")),
        ("(?P<a-b>x)", Some("invalid named capture: `(?P<a-b>`")),
        ("(?P<name", Some("invalid named capture: `(?P<name`")),
        ("(?<=a)b", Some("invalid named capture: `(?<=a)b`")),
        ("(?<!a)>", Some("invalid named capture: `(?<!a)>`")),
        (
            "(?P=name)",
            Some("invalid or unsupported Perl syntax: `(?P`"),
        ),
        ("(?=a)", Some("invalid or unsupported Perl syntax: `(?=`")),
        ("(?!a)", Some("invalid or unsupported Perl syntax: `(?!`")),
        (
            "(?#comment)",
            Some("invalid or unsupported Perl syntax: `(?#`"),
        ),
        ("(?x)a", Some("invalid or unsupported Perl syntax: `(?x`")),
        (
            "(?i-)a",
            Some("invalid or unsupported Perl syntax: `(?i-)`"),
        ),
        (
            "(?i--s)a",
            Some("invalid or unsupported Perl syntax: `(?i--`"),
        ),
        ("(?i", Some("invalid or unsupported Perl syntax: `(?i`")),
        ("(?", Some("invalid or unsupported Perl syntax: `(?`")),
        ("(a", Some("missing closing ): `(a`")),
        ("(a(b)", Some("missing closing ): `(a(b)`")),
        ("(?:a", Some("missing closing ): `(?:a`")),
        ("a)", Some("unexpected ): `a)`")),
        (")", Some("unexpected ): `)`")),
        // Repetition.
        ("a*b+c?", None),
        ("a*?b+?c??", None),
        ("a{2}b{2,}c{2,5}d{0}e{0,0}", None),
        ("a{1000}", None),
        ("a{2,3}?", None),
        ("x{,3}", None),
        ("x{", None),
        ("x{2", None),
        ("x{a}", None),
        ("x{01}", None),
        ("{", None),
        ("}", None),
        ("^*", None),
        ("$+", None),
        (r"\b?", None),
        ("(a*)*", None),
        ("(?:a+)+", None),
        ("(a{10}){100}", None),
        ("(?:a{1000}){1}", None),
        ("(a{1000})*", None),
        ("a*{,1}", None),
        ("(a{2}){500}", None),
        ("((a{2}){2}){250}", None),
        ("((a{1000}){0}){1000}", None),
        (
            "((a{0}){1000}){1000}",
            Some("invalid repeat count: `{1000}`"),
        ),
        ("(a{0,}){1000}", None),
        ("a{1001}", Some("invalid repeat count: `{1001}`")),
        ("a{0,1001}", Some("invalid repeat count: `{0,1001}`")),
        ("a{1001,}", Some("invalid repeat count: `{1001,}`")),
        ("a{3,2}", Some("invalid repeat count: `{3,2}`")),
        ("a{123456789}", Some("invalid repeat count: `{123456789}`")),
        (
            "a{1,123456789}",
            Some("invalid repeat count: `{1,123456789}`"),
        ),
        ("(a{500}){3}", Some("invalid repeat count: `{3}`")),
        ("(?:a{500}){3}?", Some("invalid repeat count: `{3}?`")),
        ("((a{10}){10}){11}", Some("invalid repeat count: `{11}`")),
        ("((a{1000}){1}){2}", Some("invalid repeat count: `{2}`")),
        ("((a{1000})*){2}", Some("invalid repeat count: `{2}`")),
        ("(a{2,}){501}", Some("invalid repeat count: `{501}`")),
        ("a**", Some("invalid nested repetition operator: `**`")),
        ("a++", Some("invalid nested repetition operator: `++`")),
        ("a*+", Some("invalid nested repetition operator: `*+`")),
        ("a?*", Some("invalid nested repetition operator: `?*`")),
        ("a*??", Some("invalid nested repetition operator: `*??`")),
        (
            "a{2}{3}",
            Some("invalid nested repetition operator: `{2}{3}`"),
        ),
        ("a{2}*", Some("invalid nested repetition operator: `{2}*`")),
        ("a*{2}", Some("invalid nested repetition operator: `*{2}`")),
        ("a*{1001}", Some("invalid repeat count: `{1001}`")),
        ("*a", Some("missing argument to repetition operator: `*`")),
        ("(*)", Some("missing argument to repetition operator: `*`")),
        ("a|*", Some("missing argument to repetition operator: `*`")),
        (
            "(?i)*",
            Some("missing argument to repetition operator: `*`"),
        ),
        ("+?", Some("missing argument to repetition operator: `+?`")),
        (
            "{2}",
            Some("missing argument to repetition operator: `{2}`"),
        ),
        (
            "(|{2,3})",
            Some("missing argument to repetition operator: `{2,3}`"),
        ),
        // Limits on the whole expression.
        (
            "(?:(?:a{1000}){1000})",
            Some("invalid repeat count: `{1000}`"),
        ),
    ];

    #[test]
    fn follows_go_on_every_listed_pattern() {
        let mut wrong = Vec::new();
        for &(pattern, verdict) in VERDICTS {
            let ours = check(pattern).err().map(|e| e.to_string());
            if ours.as_deref() != verdict {
                wrong.push(format!("{pattern:?}: Go says {verdict:?}, we say {ours:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn scripts_are_sorted_for_binary_search() {
        assert!(SCRIPTS.is_sorted());
    }

    #[test]
    fn points_at_the_problem() {
        let at = |pattern: &str| check(pattern).unwrap_err().at;
        assert_eq!(at("ab(c"), 2..3, "the unclosed (");
        assert_eq!(at("(a)(b(c)"), 3..4);
        assert_eq!(at("ab)c"), 2..3, "the unexpected )");
        assert_eq!(at("^a**$"), 2..4);
        assert_eq!(at(r"ver\8"), 3..5);
        assert_eq!(at("é[z-a]"), 3..6, "bytes, not characters");
        assert_eq!(at("ab\\"), 2..3, "the trailing backslash");
        assert_eq!(at("x[ab"), 1..4);
    }

    #[test]
    fn refuses_what_is_too_large_or_too_deep() {
        // 1000 copies of 10200 instructions in 6800 nodes: over Go's 3.3 million, and enough
        // nodes for Go to measure.
        let large = format!("(?:{}){{1000}}", "a*".repeat(3400));
        assert_eq!(check(&large).unwrap_err().code, ErrorCode::Large);
        let fits = format!("(?:{}){{1000}}", "a*".repeat(1000));
        assert_eq!(check(&fits), Ok(()));
        // One literal node of 3400 runes: Go never measures it.
        let literal = format!("(?:{}){{1000}}", "a".repeat(3400));
        assert_eq!(check(&literal), Ok(()));
        let deep = format!("{}a{}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(check(&deep).unwrap_err().code, ErrorCode::NestingDepth);
        let shallow = format!("{}a{}", "(".repeat(998), ")".repeat(998));
        assert_eq!(check(&shallow), Ok(()));
    }

    #[test]
    fn survives_deep_nesting_without_recursion() {
        let deep = "(".repeat(100_000);
        assert_eq!(check(&deep).unwrap_err().code, ErrorCode::MissingParen);
    }
}
