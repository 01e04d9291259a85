//! The notations of other languages: norms in bars, NumPy's calls and methods, Python's `**`,
//! MATLAB's `\`, read where nabla has the same thing and otherwise refused with the exact
//! rewrite that works.

use super::{PResult, Reader, Syntax, SyntaxKind, is_ident_char, skip_ws};
use crate::error::Span;

/// The input after a transpose mark at its start: `'`, `ᵀ`, `⊤`, `^T`, `^{T}`, `^\top`,
/// `^{\top}`, `^⊤` or NumPy's `.T`.
pub(super) fn transpose_mark(r: &str) -> Option<&str> {
    if let Some(a) = r.strip_prefix(['\'', 'ᵀ', '′', '⊤']) {
        return Some(a);
    }
    let word_end = |a: &&str| !a.starts_with(is_ident_char);
    (r.strip_prefix("^T").filter(word_end))
        .or_else(|| {
            r.strip_prefix(".T")
                .filter(|a| word_end(a) && !a.starts_with('('))
        })
        .or_else(|| r.strip_prefix("^\\top").filter(word_end))
        .or_else(|| {
            ["^{T}", "^{\\top}", "^⊤", "^(T)"]
                .iter()
                .find_map(|m| r.strip_prefix(m))
        })
}

/// `Ax` read as the product of its letters, `A*x`; other words as they are.
pub(super) fn spelled_product(word: &str) -> String {
    if word.chars().all(char::is_alphabetic) {
        let letters: Vec<String> = word.chars().map(String::from).collect();
        letters.join("*")
    } else {
        word.to_string()
    }
}

/// An operand's text, parenthesized unless it is a name or a number.
pub fn grouped(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        || is_one_group(text)
    {
        text.to_string()
    } else {
        format!("({text})")
    }
}

/// Whether `text` is one parenthesized group, `(x - y)` (not `(a)*(b)`).
pub(super) fn is_one_group(text: &str) -> bool {
    // A call, `norm2(x)`, is one group too.
    let text = text.trim_start_matches(is_ident_char);
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if i == 0 => return false,
            _ => {}
        }
        if depth == 0 {
            return i + c.len_utf8() == text.len();
        }
    }
    false
}

/// Names of array libraries whose calls people paste (`np.dot(a, b)`).
pub(super) const MODULES: [&str; 6] = ["np", "numpy", "torch", "jnp", "tf", "math"];

/// Function names accepted for nabla's own: `transpose(A)` is `A'` (handled in the parser).
pub const ALIASES: [(&str, &str); 2] = [("trace", "tr"), ("inverse", "inv")];

/// The nabla spelling of a call nabla does not have under that name (NumPy's, MATLAB's or a
/// textbook's), with its arguments' text: `dot(a, b)` is `a'*b`.
pub fn rewrite(function: &str, args: &[&str]) -> Option<String> {
    let g = |k: usize| grouped(args[k]);
    Some(match (function, args.len()) {
        ("dot" | "inner" | "vdot", 2) => format!("{}'*{}", g(0), g(1)),
        ("matmul" | "mm" | "mv" | "multiply_matrices", 2) => format!("{}*{}", g(0), g(1)),
        ("outer", 2) => format!("{}*{}'", g(0), g(1)),
        ("multiply" | "mul", 2) => format!("{}.*{}", g(0), g(1)),
        ("divide" | "div", 2) => format!("{}./{}", g(0), g(1)),
        ("power" | "pow", 2) => format!("{}.^{}", g(0), g(1)),
        ("square", 1) => format!("{}.^2", g(0)),
        ("maximum", 2) => format!("max({}, {})", args[0], args[1]),
        ("minimum", 2) => format!("min({}, {})", args[0], args[1]),
        ("transpose" | "t", 1) => format!("{}'", g(0)),
        ("norm" | "vector_norm" | "matrix_norm", 1) => format!("norm2({})", args[0]),
        ("norm", 2) if args[1] == "1" => format!("norm1({})", args[0]),
        ("norm", 2) if args[1] == "2" => format!("norm2({})", args[0]),
        ("trace", 1) => format!("tr({})", args[0]),
        ("inverse" | "pinv", 1) => format!("inv({})", args[0]),
        ("slogdet", 1) => format!("logdet({})", args[0]),
        ("diagflat" | "diag_embed" | "diagonal", 1) => format!("diag({})", args[0]),
        ("ln", 1) => format!("log({})", args[0]),
        ("log1p", 1) => format!("log(1 + {})", args[0]),
        ("expm1", 1) => format!("exp({}) - 1", args[0]),
        ("logistic" | "expit", 1) => format!("sigmoid({})", args[0]),
        ("heaviside", 1 | 2) => format!("step({})", args[0]),
        ("sgn", 1) => format!("sign({})", args[0]),
        ("identity", 1) => format!("eye({})", args[0]),
        ("max" | "amax", 1) => format!("logsumexp({})", args[0]),
        ("min" | "amin", 1) => format!("-logsumexp(-{})", g(0)),
        ("average", 1) => format!("mean({})", args[0]),
        _ => return None,
    })
}

impl<'s> Reader<'s> {
    /// Python's power `a**b` and MATLAB's solve `A\b`, refused with the rewrite that works.
    pub(super) fn refused_operator(
        &self,
        lhs: Syntax,
        at: &'s str,
        depth: usize,
    ) -> PResult<'s, Syntax> {
        let power = at.starts_with("**");
        let after = if power { &at[2..] } else { &at[1..] };
        let (_, rhs) = self.required(after, |r| self.unary(r, depth + 1))?;
        let (a, b) = (self.source(lhs.span), self.source(rhs.span));
        if power {
            let elementwise = format!("{}.^{}", grouped(a), grouped(b));
            self.refuse(
                at,
                "`**` is Python's power; nabla writes `^`",
                format!(
                    "did you mean `{}^{}`? (`{elementwise}` for entry by entry)",
                    grouped(a),
                    grouped(b)
                ),
            )
        } else {
            self.refuse(
                at,
                "`\\` (solve) is not part of the language",
                format!("did you mean `inv({a})*{}`?", grouped(b)),
            )
        }
    }

    /// NumPy's methods, `x.transpose()`, `A.dot(x)`, `x.sum()`: refused with the rewrite.
    pub(super) fn refused_method(
        &self,
        e: &Syntax,
        at: &'s str,
        method: &'s str,
        depth: usize,
    ) -> PResult<'s, Syntax> {
        let (after, name) = self.ident(method)?;
        let mut args = Vec::new();
        if let Some(open) = skip_ws(after).strip_prefix('(') {
            let SyntaxKind::Call(_, _, parsed) =
                self.call(at, name, Span::default(), open, depth)?.1.kind
            else {
                return self.fail(at, "an operator");
            };
            args = parsed;
        }
        let receiver = self.source(e.span);
        let mut texts = vec![receiver];
        texts.extend(args.iter().map(|a| self.source(a.span)));
        let matrix = receiver.starts_with(char::is_uppercase);
        let rewrite = match (name, texts.as_slice()) {
            ("dot" | "matmul", [a, b]) if matrix => format!("{}*{}", grouped(a), grouped(b)),
            ("T", _) => format!("{}'", grouped(receiver)),
            ("trace", [a]) => format!("tr({a})"),
            (_, [a]) => rewrite(name, &texts).unwrap_or_else(|| format!("{name}({a})")),
            _ => rewrite(name, &texts).unwrap_or_else(|| format!("{name}({})", texts.join(", "))),
        };
        self.refuse(
            at,
            &format!("`.{name}` is a NumPy method; nabla writes functions and operators"),
            format!("did you mean `{rewrite}`?"),
        )
    }

    /// `||u||` (Euclidean, Frobenius for a matrix), `||u||_2`, `||u||_F`, `||u||_1`.
    pub(super) fn norm(
        &self,
        start: &'s str,
        i: &'s str,
        close: &str,
        depth: usize,
    ) -> PResult<'s, Syntax> {
        let (r, inner) = self.required(i, |r| self.sum(r, depth + 1))?;
        let r = skip_ws(r);
        let Some(after) = r.strip_prefix(close) else {
            return self.fail(r, &format!("`{close}` closing the norm"));
        };
        let (after, function) = match ["_1", "_2", "_F", "_fro", "₁", "₂"]
            .into_iter()
            .find(|s| after.starts_with(s) && !after[s.len()..].starts_with(is_ident_char))
        {
            Some(s @ ("_1" | "₁")) => (&after[s.len()..], "norm1"),
            Some(s) => (&after[s.len()..], "norm2"),
            None => (after, "norm2"),
        };
        let span = self.span(start, after);
        Ok((
            after,
            Syntax {
                kind: SyntaxKind::Call(function.into(), span, vec![inner]),
                span,
            },
        ))
    }

    /// `np.dot(a, b)`, `torch.exp(x)`, `np.linalg.norm(x)`: read as a call of the dotted name,
    /// which shape inference refuses with nabla's own notation for it.
    pub(super) fn library_call(
        &self,
        start: &'s str,
        mut r: &'s str,
        depth: usize,
    ) -> PResult<'s, Syntax> {
        while let Some(dot) = r.strip_prefix('.') {
            let Ok((after, _)) = self.ident(dot) else {
                break;
            };
            r = skip_ws(after);
        }
        let path = self.source(self.span(start, r)).trim_end();
        let path_span = Span::new(self.offset(start), self.offset(start) + path.len());
        match r.strip_prefix('(') {
            Some(args) => self.call(start, path, path_span, args, depth),
            None => self.refuse(
                start,
                &format!("`{path}` is not part of the language"),
                "write nabla's own notation: see `nabla diff --help`".into(),
            ),
        }
    }
}
