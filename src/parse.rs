//! The input language, parsed with nom into a syntax tree that keeps the span of every node.
//!
//! Precedence, lowest first: `+ -`, then a leading `-` (so `-a*b` is `-(a*b)`), then
//! `* / .* ./ ⊙`, then a `-` inside a product (`a*-b`), then `^ .^` (right
//! associative), then postfix transpose `'`, `ᵀ`, `^T`.

use crate::error::{Error, Result, Span};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::sequence::pair;
use nom::{IResult, Parser};
use num_bigint::BigInt;
use num_rational::BigRational;

mod notation;
use notation::{ALIASES, MODULES, spelled_product, transpose_mark};
pub use notation::{grouped, rewrite};

/// Longest input accepted, in bytes.
pub const MAX_INPUT_LEN: usize = 100_000;
/// Deepest syntax tree accepted: levels of parentheses, calls, operators in a chain and
/// postfix transposes all count. Deeper inputs are an error, not a stack overflow.
pub const MAX_DEPTH: usize = 1000;
/// The depth accepted when reading nabla's own output back: a derivative can nest deeper than
/// its input, and printing then parsing must round-trip.
pub const MAX_OUTPUT_DEPTH: usize = 4000;
/// The length accepted when reading nabla's own output back, which can be longer than its input.
pub const MAX_OUTPUT_LEN: usize = 10_000_000;

/// A binary operator as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
    /// `.*` or `⊙`
    Had,
    /// `./`
    HDiv,
    /// `.^`
    HPow,
}

/// A node of the syntax tree.
#[derive(Clone, Debug, PartialEq)]
pub enum SyntaxKind {
    /// A number, exact.
    Num(BigRational),
    /// A name: a variable, a definition or a dimension.
    Name(String),
    /// A rule's pattern variable `?A` (rules only).
    Pat(String),
    /// Unary minus.
    Neg(Box<Syntax>),
    /// Transpose.
    T(Box<Syntax>),
    /// A binary operation.
    Bin(BinOp, Box<Syntax>, Box<Syntax>),
    /// A function call; the span of the name comes first.
    Call(String, Span, Vec<Syntax>),
}

/// A syntax node with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Syntax {
    /// What it is.
    pub kind: SyntaxKind,
    /// Where it is.
    pub span: Span,
}

/// A dimension as written: a name, a number, or a product of them (`m*n x 1`).
#[derive(Clone, Debug, PartialEq)]
pub enum DimSyntax {
    /// A symbolic dimension.
    Name(String),
    /// A literal size.
    Lit(u64),
    /// The product of two or more dimensions.
    Product(Vec<DimSyntax>),
}

/// A declaration `x: R^n`, `A: R^(n x n) sym`.
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    /// The declared name.
    pub name: String,
    /// Where the name is.
    pub span: Span,
    /// Rows and columns.
    pub dims: (DimSyntax, DimSyntax),
    /// Properties (`sym`, `spd`, `diag`) with their spans.
    pub props: Vec<(String, Span)>,
}

/// A definition `a = X*w`.
#[derive(Clone, Debug, PartialEq)]
pub struct Def {
    /// The defined name.
    pub name: String,
    /// Where the name is.
    pub span: Span,
    /// Its value.
    pub value: Syntax,
}

/// A whole input: declarations and definitions, then the expression.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    /// Declarations in order.
    pub decls: Vec<Decl>,
    /// Definitions in order.
    pub defs: Vec<Def>,
    /// The expression to differentiate.
    pub body: Option<Syntax>,
}

/// Where parsing stopped and what it expected there.
#[derive(Debug)]
struct Fail<'a> {
    rest: &'a str,
    expected: String,
    /// The exact rewrite that works, for a notation nabla refuses (`x**2`, `np.dot(a, b)`).
    hint: Option<String>,
}

impl<'a> ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(rest: &'a str, _kind: ErrorKind) -> Self {
        Fail {
            rest,
            expected: String::new(),
            hint: None,
        }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        if other.rest.len() <= self.rest.len() {
            other
        } else {
            self
        }
    }
}

type PResult<'a, T> = IResult<&'a str, T, Fail<'a>>;

/// Parses a complete input.
pub fn parse_program(src: &str) -> Result<Program> {
    Reader::new(src, false).program()
}

/// Parses nabla's own output, within [`MAX_OUTPUT_DEPTH`] and [`MAX_OUTPUT_LEN`].
pub fn parse_output(src: &str) -> Result<Program> {
    Reader {
        max_depth: MAX_OUTPUT_DEPTH,
        max_len: MAX_OUTPUT_LEN,
        ..Reader::new(src, false)
    }
    .program()
}

/// Parses one expression; with `patterns`, `?A` pattern variables are allowed (for rules).
pub fn parse_expr(src: &str, patterns: bool) -> Result<Syntax> {
    let p = Reader::new(src, patterns);
    p.check_len()?;
    let (rest, e) = p.sum(src, 0).map_err(|e| p.error(e))?;
    let rest = skip_ws(rest);
    if !rest.is_empty() {
        return Err(p.unexpected(rest, "an operator or the end of the expression"));
    }
    Ok(e)
}

/// The token at the start of `rest`: a name or number, or one character.
fn token(rest: &str) -> &str {
    let word = rest.len() - rest.trim_start_matches(is_ident_char).len();
    let len = if word > 0 {
        word
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    &rest[..len]
}

/// Skips spaces, tabs and `#` comments (to the end of the line, which stays: it separates).
fn skip_ws(i: &str) -> &str {
    let mut i = i.trim_start_matches([' ', '\t', '\r']);
    while let Some(comment) = i.strip_prefix('#') {
        let end = comment.find('\n').unwrap_or(comment.len());
        i = comment[end..].trim_start_matches([' ', '\t', '\r']);
    }
    i
}

/// Skips blanks, comments, newlines and `;` between the items of an input.
fn skip_separators(mut i: &str) -> &str {
    loop {
        let next = skip_ws(i).trim_start_matches(['\n', ';']);
        if next.len() == i.len() {
            return i;
        }
        i = next;
    }
}

/// Letters, digits and `_`; `ᵀ` is a letter to Unicode but the transpose here, `²` a digit
/// but the square.
fn is_ident_char(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && c != 'ᵀ' && c != '²'
}

struct Reader<'s> {
    src: &'s str,
    patterns: bool,
    max_depth: usize,
    max_len: usize,
}

impl<'s> Reader<'s> {
    fn new(src: &'s str, patterns: bool) -> Self {
        Reader {
            src,
            patterns,
            max_depth: MAX_DEPTH,
            max_len: MAX_INPUT_LEN,
        }
    }

    fn offset(&self, rest: &str) -> usize {
        self.src.len() - rest.len()
    }

    fn span(&self, from: &str, to: &str) -> Span {
        Span::new(self.offset(from), self.offset(to))
    }

    fn check_len(&self) -> Result<()> {
        let limit = self.max_len;
        if self.src.len() > limit {
            return Err(Error::Limit {
                message: format!(
                    "the input is {} bytes; the limit is {limit}",
                    self.src.len()
                ),
                span: Span::new(limit, limit + 1),
                hint: "split the expression with definitions (`a = ...;`)".into(),
            });
        }
        Ok(())
    }

    fn fail<T>(&self, rest: &'s str, expected: &str) -> PResult<'s, T> {
        Err(nom::Err::Failure(Fail {
            rest,
            expected: expected.into(),
            hint: None,
        }))
    }

    /// A refused notation at `rest`: what nabla writes instead, and the rewrite that works.
    fn refuse<T>(&self, rest: &'s str, message: &str, rewrite: String) -> PResult<'s, T> {
        Err(nom::Err::Failure(Fail {
            rest,
            expected: format!("refused:{message}"),
            hint: Some(rewrite),
        }))
    }

    fn error(&self, e: nom::Err<Fail<'s>>) -> Error {
        match e {
            nom::Err::Error(f) | nom::Err::Failure(f) => {
                if let (Some(message), Some(hint)) = (f.expected.strip_prefix("refused:"), f.hint) {
                    let at = self.offset(skip_ws(f.rest));
                    return Error::Syntax {
                        message: message.into(),
                        span: Span::new(at, at + token(skip_ws(f.rest)).len().max(1)),
                        hint,
                    };
                }
                let expected = if f.expected.is_empty() {
                    "an expression".into()
                } else {
                    f.expected
                };
                self.unexpected(f.rest, &expected)
            }
            nom::Err::Incomplete(_) => self.unexpected("", "more input"),
        }
    }

    fn unexpected(&self, rest: &str, expected: &str) -> Error {
        if let Some(message) = expected.strip_prefix("limit:") {
            // The whole over-deep expression is at fault; point at where it starts.
            let start = self.src.len() - self.src.trim_start().len();
            return Error::Limit {
                message: message.into(),
                span: Span::new(start, start + 1),
                hint: "name inner parts with definitions (`a = ...;`) to flatten the expression"
                    .into(),
            };
        }
        let rest = skip_ws(rest);
        let at = self.offset(rest);
        let token = token(rest);
        let found_end = token.is_empty() || token == "\n";
        let found = if found_end {
            "the end of the input".to_string()
        } else {
            format!("`{token}`")
        };
        let after_operand = expected.starts_with("an operator");
        let hint = match rest.chars().next() {
            Some('[' | '{') => "group with round parentheses `( )`".into(),
            Some(c) if after_operand && (c.is_alphanumeric() || c == '(') => {
                let before = self.src[..at].trim_end();
                let operand = &before[before
                    .trim_end_matches(|c: char| {
                        is_ident_char(c) || matches!(c, '\'' | 'ᵀ' | '.' | '^')
                    })
                    .len()..];
                if operand.is_empty() || token.is_empty() {
                    "write products explicitly with `*` (2*x, A*x)".into()
                } else {
                    format!("write products explicitly with `*`: did you mean `{operand}*{token}`?")
                }
            }
            _ => "see `nabla diff --help` for the language".into(),
        };
        Error::Syntax {
            message: format!("expected {expected}, found {found}"),
            span: Span::new(at, at + if found_end { 0 } else { token.len() }),
            hint,
        }
    }

    fn program(&self) -> Result<Program> {
        self.check_len()?;
        let mut program = Program::default();
        let mut rest = self.src;
        loop {
            rest = skip_separators(rest);
            if rest.is_empty() {
                break;
            }
            if let Some(body) = &program.body {
                return Err(Error::Syntax {
                    message: "the expression to differentiate must come last".into(),
                    span: body.span,
                    hint: "put declarations and definitions first, then one expression".into(),
                });
            }
            rest = self.item(rest, &mut program).map_err(|e| self.error(e))?.0;
            let after = skip_ws(rest);
            if !(after.is_empty() || after.starts_with([';', '\n'])) {
                return Err(self.unexpected(after, "an operator, `;` or the end of the input"));
            }
            rest = after;
        }
        Ok(program)
    }

    /// One declaration, definition or the final expression.
    fn item(&self, i: &'s str, program: &mut Program) -> PResult<'s, ()> {
        if let Ok((after_name, name)) = self.ident(i) {
            let after = skip_ws(after_name);
            if let Some(ty) = after.strip_prefix(':') {
                let (rest, decl) = self.decl(name, self.span(i, after_name), ty)?;
                program.decls.push(decl);
                return Ok((rest, ()));
            }
            if after.starts_with('=') && !after.starts_with("==") {
                let (rest, value) = self.sum(&after[1..], 0)?;
                program.defs.push(Def {
                    name: name.into(),
                    span: self.span(i, after_name),
                    value,
                });
                return Ok((rest, ()));
            }
        }
        let (rest, body) = self.sum(i, 0)?;
        program.body = Some(body);
        Ok((rest, ()))
    }

    fn ident(&self, i: &'s str) -> PResult<'s, &'s str> {
        let i = skip_ws(i);
        recognize(pair(
            take_while1(|c: char| (c.is_alphabetic() || c == '_') && c != 'ᵀ'),
            take_while(is_ident_char),
        ))
        .parse(i)
    }

    /// `R`, `R^n`, `R^(m x n)`, `R^{m,n}`, then properties.
    fn decl(&self, name: &str, span: Span, i: &'s str) -> PResult<'s, Decl> {
        let i = skip_ws(i);
        let Some(mut rest) = i.strip_prefix('R').or_else(|| i.strip_prefix('ℝ')) else {
            return self.fail(i, "a type: R, R^n or R^(m x n)");
        };
        let mut dims = (DimSyntax::Lit(1), DimSyntax::Lit(1));
        if let Some(after) = rest.strip_prefix('^') {
            let after = skip_ws(after);
            if let Some(open) = after.strip_prefix(['(', '{']) {
                let (r, mut rows) = self.dims_product(open)?;
                let r = skip_ws(r);
                // R^(m*n) is the m x n matrix; a product is a size only before another
                // separator: R^(m*n x 1).
                if let (DimSyntax::Product(factors), Some(closed)) =
                    (&rows, r.strip_prefix([')', '}']))
                    && factors.len() == 2
                {
                    dims = (factors[0].clone(), factors[1].clone());
                    rest = closed;
                } else {
                    let Some(r) = ["x", "×", ","].iter().find_map(|sep| r.strip_prefix(sep))
                    else {
                        return self.fail(r, "`x` between the dimensions, as in R^(m x n)");
                    };
                    let (r, cols) = self.dims_product(r)?;
                    let r = skip_ws(r);
                    let Some(r) = r.strip_prefix([')', '}']) else {
                        return self.fail(r, "`)` closing the dimensions");
                    };
                    dims = (std::mem::replace(&mut rows, DimSyntax::Lit(1)), cols);
                    rest = r;
                }
            } else {
                let (r, n) = self.dim(after)?;
                dims = (n, DimSyntax::Lit(1));
                rest = r;
            }
        }
        let mut props = Vec::new();
        loop {
            let r = skip_ws(rest).trim_start_matches(',');
            let Ok((after, prop)) = self.ident(r) else {
                break;
            };
            if !["sym", "spd", "diag"].contains(&prop) {
                return self.fail(skip_ws(r), "a property: sym, spd or diag");
            }
            props.push((prop.to_string(), self.span(skip_ws(r), after)));
            rest = after;
        }
        Ok((
            rest,
            Decl {
                name: name.into(),
                span,
                dims,
                props,
            },
        ))
    }

    /// A dimension, or a product of dimensions joined by `*`.
    fn dims_product(&self, i: &'s str) -> PResult<'s, DimSyntax> {
        let (mut rest, first) = self.dim(i)?;
        let mut factors = vec![first];
        while let Some(after) = skip_ws(rest).strip_prefix('*') {
            let (r, next) = self.dim(after)?;
            factors.push(next);
            rest = r;
        }
        Ok((
            rest,
            if factors.len() == 1 {
                factors.remove(0)
            } else {
                DimSyntax::Product(factors)
            },
        ))
    }

    fn dim(&self, i: &'s str) -> PResult<'s, DimSyntax> {
        let i = skip_ws(i);
        if let Ok((rest, digits)) = digit1::<&str, Fail>(i) {
            return match digits.parse::<u64>() {
                Ok(n) if n > 0 => Ok((rest, DimSyntax::Lit(n))),
                _ => self.fail(i, "a positive dimension"),
            };
        }
        match self.ident(i) {
            Ok((rest, name)) => Ok((rest, DimSyntax::Name(name.into()))),
            Err(_) => self.fail(i, "a dimension (a name such as n, or a number)"),
        }
    }

    fn guard(&self, i: &'s str, depth: usize) -> PResult<'s, ()> {
        if depth > self.max_depth {
            return self.fail(
                i,
                &format!(
                    "limit:the expression is nested deeper than {} levels",
                    self.max_depth
                ),
            );
        }
        Ok((i, ()))
    }

    /// `term (('+' | '-') term)*`
    fn sum(&self, i: &'s str, depth: usize) -> PResult<'s, Syntax> {
        self.guard(i, depth)?;
        let (mut rest, mut lhs) = self.signed(i, depth)?;
        let mut depth = depth;
        loop {
            let r = skip_ws(rest);
            let op = match r.chars().next() {
                Some('+') => BinOp::Add,
                Some('-') => BinOp::Sub,
                _ => return Ok((rest, lhs)),
            };
            depth += 1;
            self.guard(r, depth)?;
            let (r, rhs) = self.required(&r[1..], |r| self.signed(r, depth))?;
            lhs = bin(op, lhs, rhs);
            rest = r;
        }
    }

    /// `'-' signed | term`: a leading minus negates the whole product, as in `-a*b`.
    fn signed(&self, i: &'s str, depth: usize) -> PResult<'s, Syntax> {
        self.minus_or(i, depth, |r, d| self.signed(r, d), |r, d| self.term(r, d))
    }

    /// `'-' operand | otherwise`, the minus applied to what `operand` parses after it.
    fn minus_or(
        &self,
        i: &'s str,
        depth: usize,
        operand: impl Fn(&'s str, usize) -> PResult<'s, Syntax>,
        otherwise: impl Fn(&'s str, usize) -> PResult<'s, Syntax>,
    ) -> PResult<'s, Syntax> {
        self.guard(i, depth)?;
        let r = skip_ws(i);
        let Some(after) = r.strip_prefix('-') else {
            return otherwise(i, depth);
        };
        let (rest, e) = self.required(after, |a| operand(a, depth + 1))?;
        let span = Span::new(self.offset(r), e.span.end);
        Ok((
            rest,
            Syntax {
                kind: SyntaxKind::Neg(Box::new(e)),
                span,
            },
        ))
    }

    /// `unary (('*' | '@' | '/' | '.*' | './' | '⊙') unary)*`; NumPy's `@` is the matrix
    /// product `*`.
    fn term(&self, i: &'s str, depth: usize) -> PResult<'s, Syntax> {
        let (mut rest, mut lhs) = self.unary(i, depth)?;
        let mut depth = depth;
        loop {
            let r = skip_ws(rest);
            if r.starts_with("**") || r.starts_with('\\') {
                return self.refused_operator(lhs, r, depth);
            }
            let Ok((r, sym)) = alt((
                tag::<&str, &str, Fail>(".*"),
                tag("./"),
                tag("*"),
                tag("@"),
                tag("/"),
                tag("⊙"),
            ))
            .parse(r) else {
                return Ok((rest, lhs));
            };
            let op = match sym {
                "*" | "@" => BinOp::Mul,
                "/" => BinOp::Div,
                "./" => BinOp::HDiv,
                _ => BinOp::Had,
            };
            depth += 1;
            self.guard(r, depth)?;
            let (r, rhs) = self.required(r, |r| self.unary(r, depth))?;
            lhs = bin(op, lhs, rhs);
            rest = r;
        }
    }

    /// The input text of a span.
    fn source(&self, span: Span) -> &'s str {
        self.src.get(span.start..span.end).unwrap_or("?")
    }

    /// An operand that must follow an operator: its absence is a hard error here.
    fn required(
        &self,
        i: &'s str,
        p: impl Fn(&'s str) -> PResult<'s, Syntax>,
    ) -> PResult<'s, Syntax> {
        p(i).map_err(|e| match e {
            nom::Err::Error(f) if f.expected.is_empty() => nom::Err::Failure(Fail {
                rest: f.rest,
                expected: "an operand after the operator".into(),
                hint: None,
            }),
            nom::Err::Error(f) => nom::Err::Failure(f),
            other => other,
        })
    }

    /// `'-' unary | power`
    fn unary(&self, i: &'s str, depth: usize) -> PResult<'s, Syntax> {
        self.minus_or(i, depth, |r, d| self.unary(r, d), |r, d| self.power(r, d))
    }

    /// `postfix (('^' | '.^') unary)?`, right associative.
    fn power(&self, i: &'s str, depth: usize) -> PResult<'s, Syntax> {
        let (rest, base) = self.postfix(i, depth)?;
        let r = skip_ws(rest);
        let (r, op) = if let Some(r) = r.strip_prefix(".^") {
            (r, BinOp::HPow)
        } else if let Some(r) = r.strip_prefix('^') {
            (r, BinOp::Pow)
        } else {
            return Ok((rest, base));
        };
        let (rest, exponent) = self.required(r, |r| self.unary(r, depth + 1))?;
        Ok((rest, bin(op, base, exponent)))
    }

    /// `atom ("'" | "ᵀ" | "^T" | ".T" | "²")*`
    fn postfix(&self, i: &'s str, depth: usize) -> PResult<'s, Syntax> {
        let (mut rest, mut e) = self.atom(i, depth)?;
        let mut depth = depth;
        loop {
            let r = skip_ws(rest);
            let (after, squared) = if let Some(a) = transpose_mark(r) {
                (a, false)
            } else if let Some(a) = r.strip_prefix('²') {
                (a, true)
            } else if let Some(method) = r
                .strip_prefix('.')
                .filter(|m| m.starts_with(char::is_alphabetic))
            {
                return self.refused_method(&e, r, method, depth);
            } else if let Some(word) = r
                .strip_prefix("^T")
                .filter(|a| a.starts_with(is_ident_char))
            {
                return self.refuse(
                    &r[1..],
                    "a transpose must be followed by an operator",
                    format!(
                        "write the product explicitly: did you mean `{}'*{}`?",
                        self.source(e.span),
                        spelled_product(token(word))
                    ),
                );
            } else {
                return Ok((rest, e));
            };
            depth += 1;
            self.guard(r, depth)?;
            let span = Span::new(e.span.start, self.offset(after));
            e = if squared {
                let two = Syntax {
                    kind: SyntaxKind::Num(BigRational::from_integer(2.into())),
                    span: self.span(r, after),
                };
                Syntax {
                    kind: SyntaxKind::Bin(BinOp::Pow, Box::new(e), Box::new(two)),
                    span,
                }
            } else {
                Syntax {
                    kind: SyntaxKind::T(Box::new(e)),
                    span,
                }
            };
            rest = after;
        }
    }

    fn atom(&self, i: &'s str, depth: usize) -> PResult<'s, Syntax> {
        let i = skip_ws(i);
        if let Some(inner) = i.strip_prefix('(') {
            let (r, e) = self.required(inner, |r| self.sum(r, depth + 1))?;
            let r = skip_ws(r);
            let Some(after) = r.strip_prefix(')') else {
                return self.fail(r, "`)` closing the parenthesis");
            };
            return Ok((
                after,
                Syntax {
                    kind: e.kind,
                    span: self.span(i, after),
                },
            ));
        }
        if let Ok((rest, n)) = self.number(i) {
            return Ok((
                rest,
                Syntax {
                    kind: SyntaxKind::Num(n),
                    span: self.span(i, rest),
                },
            ));
        }
        if self.patterns
            && let Some(after) = i.strip_prefix('?')
        {
            let (rest, name) = self.ident(after).map_err(|_| {
                nom::Err::Failure(Fail {
                    rest: after,
                    expected: "a pattern variable name".into(),
                    hint: None,
                })
            })?;
            let span = self.span(i, rest);
            return Ok((
                rest,
                Syntax {
                    kind: SyntaxKind::Pat(name.into()),
                    span,
                },
            ));
        }
        if let Some((open, close)) = [("||", "||"), ("‖", "‖")]
            .into_iter()
            .find(|(open, _)| i.starts_with(open))
        {
            return self.norm(i, &i[open.len()..], close, depth);
        }
        if i.starts_with('|') {
            return self.refuse(
                i,
                "`|...|` is not part of the language",
                "write abs(u) for the entries' absolute values, ||u|| for the norm".into(),
            );
        }
        let (rest, name) = self.ident(i)?;
        let name_span = self.span(i, rest);
        let r = skip_ws(rest);
        if MODULES.contains(&name) && r.starts_with('.') {
            return self.library_call(i, r, depth);
        }
        if let Some(args) = r.strip_prefix('(') {
            return self.call(i, name, name_span, args, depth);
        }
        Ok((
            rest,
            Syntax {
                kind: SyntaxKind::Name(name.into()),
                span: name_span,
            },
        ))
    }

    fn call(
        &self,
        start: &'s str,
        name: &str,
        name_span: Span,
        i: &'s str,
        depth: usize,
    ) -> PResult<'s, Syntax> {
        let mut args = Vec::new();
        let mut rest = skip_ws(i);
        if !rest.starts_with(')') {
            loop {
                let (r, arg) = self.required(rest, |r| self.sum(r, depth + 1))?;
                args.push(arg);
                let r = skip_ws(r);
                if let Some(r) = r.strip_prefix(',') {
                    rest = r;
                    continue;
                }
                rest = r;
                break;
            }
        }
        let Some(after) = rest.strip_prefix(')') else {
            return self.fail(rest, "`,` or `)` in the argument list");
        };
        let span = self.span(start, after);
        if let ("transpose", [_]) = (name, args.as_slice()) {
            let arg = args.remove(0);
            return Ok((
                after,
                Syntax {
                    kind: SyntaxKind::T(Box::new(arg)),
                    span,
                },
            ));
        }
        let name = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, f)| f);
        Ok((
            after,
            Syntax {
                kind: SyntaxKind::Call(name.into(), name_span, args),
                span,
            },
        ))
    }

    /// `123`, `0.5`, `1e-3`: exact rationals.
    fn number(&self, i: &'s str) -> PResult<'s, BigRational> {
        let (rest, text) = recognize((
            digit1,
            opt(pair(char('.'), digit1)),
            opt((one_of("eE"), opt(one_of("+-")), digit1)),
        ))
        .parse(i)?;
        match exact(text) {
            Some(n) => Ok((rest, n)),
            None => self.fail(i, "a number of reasonable size"),
        }
    }
}

fn bin(op: BinOp, a: Syntax, b: Syntax) -> Syntax {
    let span = a.span.join(b.span);
    Syntax {
        kind: SyntaxKind::Bin(op, Box::new(a), Box::new(b)),
        span,
    }
}

/// The exact value of a decimal literal such as `2.5e-3`.
fn exact(text: &str) -> Option<BigRational> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(k) => (&text[..k], text[k + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let exponent = exponent - frac.len() as i32;
    if exponent.abs() > 1000 {
        return None;
    }
    let digits: BigInt = format!("{int}{frac}").parse().ok()?;
    let ten = BigRational::from_integer(10.into());
    Some(BigRational::from_integer(digits) * num_traits::pow::Pow::pow(&ten, exponent))
}
