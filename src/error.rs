//! Errors, each carrying where it happened and what to do, rendered as one paragraph with a caret.

use std::fmt::Write;

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

    /// The error for a caught panic.
    pub fn from_panic(panic: Box<dyn std::any::Any + Send>) -> Error {
        let message = (panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Error::Internal { message }
    }

    fn span(&self) -> Option<Span> {
        match self {
            Error::Syntax { span, .. }
            | Error::UnknownFunction { span, .. }
            | Error::Shape { span, .. }
            | Error::Limit { span, .. } => Some(*span),
            _ => None,
        }
    }

    fn hint(&self) -> Option<&str> {
        match self {
            Error::Syntax { hint, .. }
            | Error::UnknownFunction { hint, .. }
            | Error::Shape { hint, .. }
            | Error::Wrt { hint, .. }
            | Error::Unsupported { hint, .. }
            | Error::Limit { hint, .. } => Some(hint).filter(|h| !h.is_empty()).map(|h| h.as_str()),
            Error::Rule { .. } | Error::Internal { .. } => None,
        }
    }

    /// The message with the offending source line, a caret under the span and the hint.
    pub fn render(&self, source: &str) -> String {
        let mut out = format!("{self}");
        if let Some(span) = self.span() {
            render_caret(&mut out, source, span);
        }
        if let Some(hint) = self.hint() {
            let _ = write!(out, "\n  = help: {hint}");
        }
        out
    }
}

/// Appends ` --> line:col`, the source line and a caret line under `span`.
fn render_caret(out: &mut String, source: &str, span: Span) {
    let start = span.start.min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i);
    let line_no = source[..start].matches('\n').count() + 1;
    let mut line: String = source[line_start..line_end].to_string();
    let mut col = source[line_start..start].chars().count();
    let column = col + 1;
    let width = source[start..span.end.clamp(start, line_end)]
        .chars()
        .count()
        .clamp(1, 60);
    // A long line is cut to a window around the caret.
    const WINDOW: usize = 80;
    if line.chars().count() > WINDOW {
        let from = col.saturating_sub(WINDOW / 2);
        let window: String = line.chars().skip(from).take(WINDOW).collect();
        let more = line.chars().count() > from + WINDOW;
        line = format!(
            "{}{window}{}",
            if from > 0 { "…" } else { "" },
            if more { "…" } else { "" }
        );
        col = col - from + usize::from(from > 0);
    }
    let _ = write!(
        out,
        "\n  --> {line_no}:{column}\n   |\n   | {line}\n   | {}{}",
        " ".repeat(col),
        "^".repeat(width)
    );
}

/// The result type of nabla.
pub type Result<T> = std::result::Result<T, Error>;
