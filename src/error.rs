//! Errors, each carrying where it happened and what to do, rendered as one paragraph with a caret.

use ariadne::{CharSet, Color, Config, IndexType, Label, Report, ReportKind, Source};

/// A byte range in the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The span in characters (Unicode scalar values) of `source` rather than bytes: what
    /// Python's string indices count. A byte inside a character counts as that character.
    pub fn chars(self, source: &str) -> (usize, usize) {
        let count = |byte: usize| source[..floor_boundary(source, byte)].chars().count();
        (count(self.start), count(self.end.max(self.start)))
    }

    /// The span in UTF-16 code units of `source`: what JavaScript's string indices count.
    pub fn utf16(self, source: &str) -> (usize, usize) {
        let count = |byte: usize| {
            source[..floor_boundary(source, byte)]
                .encode_utf16()
                .count()
        };
        (count(self.start), count(self.end.max(self.start)))
    }

    /// The 1-based line and column (in characters) where the span starts.
    pub fn line_column(self, source: &str) -> (usize, usize) {
        let before = &source[..floor_boundary(source, self.start)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }
}

/// The largest character boundary of `source` at or before byte `i`.
fn floor_boundary(source: &str, i: usize) -> usize {
    let mut i = i.min(source.len());
    while !source.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Everything that can go wrong, from input text to printed derivative.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The input does not follow the grammar.
    #[error("syntax error: {message}")]
    Syntax {
        /// What was expected or found.
        message: String,
        /// Where.
        span: Span,
        /// What to do.
        hint: String,
    },
    /// A function name the language does not know.
    #[error("unknown function `{name}`")]
    UnknownFunction {
        /// The name as written.
        name: String,
        /// Where.
        span: Span,
        /// What to do.
        hint: String,
    },
    /// Shapes that cannot go together.
    #[error("shape mismatch: {message}")]
    Shape {
        /// Both shapes, named.
        message: String,
        /// The operation that joins them.
        span: Span,
        /// What to do.
        hint: String,
    },
    /// An undeclared name used in two ways that no one shape fits.
    #[error("conflicting uses: {message}")]
    Conflict {
        /// The name and both readings.
        message: String,
        /// The two uses, each with what it reads the name as; the second is the error's place.
        uses: Box<[(Span, String); 2]>,
        /// What to do: the declaration that settles it.
        hint: String,
    },
    /// A problem with the variable named by `--wrt`.
    #[error("{message}")]
    Wrt {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// A derivative that nabla cannot express.
    #[error("unsupported derivative: {message}")]
    Unsupported {
        /// Which kind of derivative, and why.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// An input past one of nabla's limits.
    #[error("input too large: {message}")]
    Limit {
        /// Which limit.
        message: String,
        /// Where.
        span: Span,
        /// What to do.
        hint: String,
    },
    /// A derivation that ran past [`crate::budget::TIME_LIMIT`].
    #[error("time limit: the derivation took longer than {seconds} s")]
    Time {
        /// The limit.
        seconds: f64,
    },
    /// An option that cannot be used as given (a function name that is not a Python
    /// identifier, a function asked for in a format that is not Python).
    #[error("{message}")]
    Option {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// A bug in nabla: a panic caught at the boundary of a derivation.
    #[error("internal error (a bug in nabla, please report the input): {message}")]
    Internal {
        /// The panic message.
        message: String,
    },
    /// A malformed rule in `rules/` (a bug in nabla, caught when the rules load).
    #[error("{file}:{line}: bad rule: {message}")]
    Rule {
        /// The rule file.
        file: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// The process exit code: 1 when the derivative cannot be expressed, 2 for bad input.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Unsupported { .. } => 1,
            Error::Internal { .. } | Error::Rule { .. } => 3,
            _ => 2,
        }
    }

    /// A short stable name of the kind of error, for programs (the Python exception's `kind`,
    /// the web page): `syntax`, `unknown-function`, `shape`, `conflict`, `wrt`, `unsupported`, `limit`,
    /// `time`, `option`, `internal` or `rule`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Syntax { .. } => "syntax",
            Error::UnknownFunction { .. } => "unknown-function",
            Error::Shape { .. } => "shape",
            Error::Conflict { .. } => "conflict",
            Error::Wrt { .. } => "wrt",
            Error::Unsupported { .. } => "unsupported",
            Error::Limit { .. } => "limit",
            Error::Time { .. } => "time",
            Error::Option { .. } => "option",
            Error::Internal { .. } => "internal",
            Error::Rule { .. } => "rule",
        }
    }

    /// The error for a caught panic.
    pub fn from_panic(panic: Box<dyn std::any::Any + Send>) -> Error {
        let message = (panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Error::Internal { message }
    }

    /// Where in the input the error is, for the errors that have a place there.
    pub fn span(&self) -> Option<Span> {
        match self {
            Error::Syntax { span, .. }
            | Error::UnknownFunction { span, .. }
            | Error::Shape { span, .. }
            | Error::Limit { span, .. } => Some(*span),
            Error::Conflict { uses, .. } => Some(uses[1].0),
            _ => None,
        }
    }

    /// What to do about the error, when nabla can say.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Syntax { hint, .. }
            | Error::UnknownFunction { hint, .. }
            | Error::Shape { hint, .. }
            | Error::Conflict { hint, .. }
            | Error::Wrt { hint, .. }
            | Error::Option { hint, .. }
            | Error::Unsupported { hint, .. }
            | Error::Limit { hint, .. } => Some(hint).filter(|h| !h.is_empty()).map(|h| h.as_str()),
            Error::Time { .. } => Some(
                "the expression is too large to differentiate and simplify in time; differentiate a part of it, or write it with fewer nested or repeated parts",
            ),
            Error::Rule { .. } | Error::Internal { .. } => None,
        }
    }

    /// The error as plain text: `nabla: message`, the offending source line with the span
    /// underlined, and the hint.
    pub fn render(&self, source: &str) -> String {
        self.report(source, "nabla", false)
    }

    /// The error as a diagnostic in the style of rustc (by ariadne): `title: message`, the
    /// source line with the span underlined, and the hint; `color` for a terminal, plain ASCII
    /// otherwise.
    pub fn report(&self, source: &str, title: &str, color: bool) -> String {
        let Some(span) = self.span() else {
            let help = self
                .hint()
                .map(|h| format!("\n  help: {h}"))
                .unwrap_or_default();
            return format!("{title}: {self}{help}");
        };
        let end = floor_boundary(source, span.end.max(span.start));
        let start = floor_boundary(source, span.start.min(end));
        let range = ("input", start..end.max(start));
        let label = match self {
            Error::Conflict { uses, .. } => uses[1].1.as_str(),
            _ => self.label(),
        };
        let config = Config::default()
            .with_color(color)
            .with_char_set(if color {
                CharSet::Unicode
            } else {
                CharSet::Ascii
            })
            .with_index_type(IndexType::Byte);
        let kind = ReportKind::Custom(title, Color::Red);
        let mut report = Report::build(kind, range.clone())
            .with_config(config)
            .with_message(self)
            .with_label(Label::new(range).with_message(label).with_color(Color::Red));
        if let Error::Conflict { uses, .. } = self {
            let (first, first_label) = &uses[0];
            let boundary = |i: usize| floor_boundary(source, i);
            let (a, b) = (boundary(first.start), boundary(first.end));
            report = report.with_label(
                Label::new(("input", a..b.max(a)))
                    .with_message(first_label)
                    .with_color(Color::Blue),
            );
        }
        if let Some(hint) = self.hint() {
            report = report.with_help(hint);
        }
        let mut out = Vec::new();
        // The cut comes after every label: a conflict's first use can end past its second.
        let last = match self {
            Error::Conflict { uses, .. } => floor_boundary(source, uses[0].0.end).max(end),
            _ => end,
        };
        let shown = cut_long_line(source, last);
        let written = report
            .finish()
            .write(("input", Source::from(shown)), &mut out);
        match written.ok().and_then(|_| String::from_utf8(out).ok()) {
            Some(text) if color => text.trim_end().to_string(),
            // The report's title keeps its color whatever the configuration says.
            Some(text) => strip_ansi(text.trim_end()),
            None => format!("{title}: {self}"),
        }
    }

    /// What the underlined span is.
    fn label(&self) -> &'static str {
        match self {
            Error::Syntax { .. } => "here",
            Error::UnknownFunction { .. } => "not a function of the language",
            Error::Shape { .. } => "these shapes do not fit",
            Error::Limit { .. } => "this expression",
            _ => "",
        }
    }
}

/// The source with the line that holds byte `end` cut after it (and an ellipsis), when that
/// line is long: the span keeps its columns, the reader is spared the rest.
fn cut_long_line(source: &str, end: usize) -> String {
    const LONG: usize = 120;
    let line_end = source[end..].find('\n').map_or(source.len(), |i| end + i);
    let line_start = source[..end].rfind('\n').map_or(0, |i| i + 1);
    let cut = (end + 40).max(line_start + 80);
    if line_end - line_start <= LONG || cut >= line_end || !source.is_char_boundary(cut) {
        return source.to_string();
    }
    format!("{}…{}", &source[..cut], &source[line_end..])
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

/// The result type of nabla.
pub type Result<T> = std::result::Result<T, Error>;
