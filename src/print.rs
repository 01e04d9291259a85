//! Printers: the input syntax (parses back), unicode, LaTeX and NumPy, each with parentheses
//! only where the grammar needs them.

use crate::expr::{Expr, Func, Op};
use crate::shape::Shape;
use num_rational::BigRational;
use num_traits::{One, Signed};
use std::fmt::Write;

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// The input language: `x'*(A + A')`.
    Text,
    /// Mathematical unicode: `xᵀ(A + Aᵀ)`.
    Unicode,
    /// LaTeX: `x^\top \left(A + A^\top\right)`.
    Latex,
    /// A NumPy expression over 2-D arrays: `x.T @ (A + A.T)`.
    Numpy,
    /// A PyTorch expression over 2-D tensors, under the NumPy contract.
    Torch,
}

/// Prints in the input language.
pub fn to_text(e: &Expr) -> String {
    print(e, Format::Text)
}

/// Prints in the given format.
pub fn print(e: &Expr, format: Format) -> String {
    let mut out = String::new();
    write(&mut out, e, format).expect("writing to a String cannot fail");
    out
}

/// Prints an expression with named shared parts: `t1 = ...; body` in text and unicode (input
/// syntax: it parses back), an `aligned` block ending in `label &= body` in LaTeX, one
/// assignment per line then the body in NumPy and PyTorch.
pub fn print_shared(shared: &crate::share::Shared, format: Format, label: &str) -> String {
    let leaf = |name: egg::Symbol, shape| Expr::leaf(Op::Var(name, Default::default()), shape);
    let mut out = String::new();
    if shared.definitions.is_empty() {
        return print(&shared.body, format);
    }
    let body = print(&shared.body, format);
    match format {
        Format::Text | Format::Unicode => {
            for (name, value) in &shared.definitions {
                let _ = write!(out, "{name} = {}; ", print(value, format));
            }
            out.push_str(&body);
        }
        Format::Latex => {
            out.push_str("\\begin{aligned}\n");
            for (name, value) in &shared.definitions {
                let _ = writeln!(
                    out,
                    "{} &= {} \\\\",
                    print(&leaf(*name, value.shape), format),
                    print(value, format)
                );
            }
            let _ = write!(out, "{label} &= {body}\n\\end{{aligned}}");
        }
        Format::Numpy | Format::Torch => {
            for (name, value) in &shared.definitions {
                let _ = writeln!(
                    out,
                    "{} = {}",
                    numpy_name(name.as_str()),
                    print(value, format)
                );
            }
            out.push_str(&body);
        }
    }
    out
}

/// A name as LaTeX: `x`, `W_{1}`, `\\lambda`, `\\mathrm{rate}`.
pub fn latex_name(name: &str) -> String {
    let mut out = String::new();
    Printer {
        format: Format::Latex,
    }
    .name(&mut out, name)
    .expect("writing to a String cannot fail");
    out
}

/// Writes an expression in the given format.
pub fn write(out: &mut impl Write, e: &Expr, format: Format) -> std::fmt::Result {
    Printer { format }.expr(out, e)
}

/// A nabla name as a Python identifier: keywords, `np` and `torch` get a trailing underscore.
pub fn numpy_name(name: &str) -> String {
    const RESERVED: [&str; 37] = [
        "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "False", "finally", "for", "from", "global", "if", "import",
        "in", "is", "lambda", "None", "nonlocal", "not", "or", "pass", "raise", "return", "True",
        "try", "while", "with", "yield", "np", "torch",
    ];
    if RESERVED.contains(&name) {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

fn numpy_dim(d: crate::shape::Dim) -> String {
    (d.factors().iter())
        .map(|f| numpy_name(&f.to_string()))
        .collect::<Vec<_>>()
        .join("*")
}

/// The reading of the variables in a format: `# where x: R^n, A: R^(n x n)` (text), `where
/// x ∈ ℝⁿ, A ∈ ℝⁿˣⁿ` (unicode), `\text{where } x \in \mathbb{R}^{n}, ...` (LaTeX),
/// `# where x: (n, 1), ...` (Python, the shapes of its arrays).
pub fn reading(variables: &[crate::infer::Variable], format: Format) -> String {
    let each: Vec<String> = (variables.iter())
        .map(|v| {
            let (rows, cols) = (v.shape.rows, v.shape.cols);
            match format {
                Format::Text => v.to_string(),
                Format::Unicode => format!("{} ∈ {}", v.name, unicode_space(v.shape)),
                Format::Latex => format!(
                    "{} \\in {}",
                    latex_name(v.name.as_str()),
                    latex_space(v.shape)
                ),
                Format::Numpy | Format::Torch if v.shape.is_scalar() => {
                    format!("{}: scalar", numpy_name(v.name.as_str()))
                }
                Format::Numpy | Format::Torch => {
                    format!(
                        "{}: ({}, {})",
                        numpy_name(v.name.as_str()),
                        numpy_dim(rows),
                        numpy_dim(cols)
                    )
                }
            }
        })
        .collect();
    match format {
        Format::Text | Format::Numpy | Format::Torch => format!("# where {}", each.join(", ")),
        Format::Unicode => format!("where {}", each.join(", ")),
        Format::Latex => format!("\\text{{where }} {}", each.join(",\\ ")),
    }
}

/// ℝ, ℝⁿ, ℝᵐˣⁿ; a size without a superscript form in parentheses, ℝ^(q×n).
fn unicode_space(s: crate::shape::Shape) -> String {
    const FROM: &str = "0123456789abcdehijklmnoprstuvwxyz";
    const TO: &str = "⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᶜᵈᵉʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ";
    let sup = |text: &str| -> Option<String> {
        text.chars()
            .map(|c| {
                FROM.chars()
                    .position(|f| f == c)
                    .and_then(|i| TO.chars().nth(i))
            })
            .collect()
    };
    let text = if s.is_scalar() {
        return "ℝ".into();
    } else if s.cols.is_one() {
        s.rows.to_string()
    } else {
        format!("{}x{}", s.rows, s.cols)
    };
    match sup(&text) {
        Some(up) => format!("ℝ{up}"),
        None => format!("ℝ^({})", text.replace('x', "×")),
    }
}

/// \mathbb{R}, \mathbb{R}^{n}, \mathbb{R}^{m \times n}.
pub fn latex_space(s: crate::shape::Shape) -> String {
    if s.is_scalar() {
        "\\mathbb{R}".into()
    } else if s.cols.is_one() {
        format!("\\mathbb{{R}}^{{{}}}", latex_dim(s.rows))
    } else {
        format!(
            "\\mathbb{{R}}^{{{} \\times {}}}",
            latex_dim(s.rows),
            latex_dim(s.cols)
        )
    }
}

/// A size in LaTeX: a product `m*n` is written `mn`, `n*n` is `n^{2}`.
pub fn latex_dim(d: crate::shape::Dim) -> String {
    let factors: Vec<String> = d.factors().iter().map(|f| f.to_string()).collect();
    let mut out = String::new();
    let mut i = 0;
    while i < factors.len() {
        let run = factors[i..]
            .iter()
            .take_while(|f| **f == factors[i])
            .count();
        out.push_str(&factors[i]);
        if run > 1 {
            out.push_str(&format!("^{{{run}}}"));
        }
        i += run;
    }
    out
}

/// A subscript in unicode where every character has one (`ₙ`, `ₘ,ₙ`), else `_text`.
fn unicode_subscript(text: &str) -> String {
    const FROM: &str = "0123456789aehijklmnoprstuvx,*";
    const TO: [char; 29] = [
        '₀', '₁', '₂', '₃', '₄', '₅', '₆', '₇', '₈', '₉', 'ₐ', 'ₑ', 'ₕ', 'ᵢ', 'ⱼ', 'ₖ', 'ₗ', 'ₘ',
        'ₙ', 'ₒ', 'ₚ', 'ᵣ', 'ₛ', 'ₜ', 'ᵤ', 'ᵥ', 'ₓ', ',', '·',
    ];
    let mapped: Option<String> = text
        .chars()
        .map(|c| FROM.chars().position(|f| f == c).map(|i| TO[i]))
        .collect();
    mapped.unwrap_or_else(|| format!("_({text})"))
}

/// A number written as a decimal where it has one and reads better so: a denominator of
/// 2s and 5s that is a multiple of 10 or above 100 (0.1, 0.05, 0.044715, 0.0078125), the
/// constants people type as decimals; 1/2, 1/4, 1/8 and 1/25 stay fractions.
fn decimal(n: &BigRational) -> Option<String> {
    use num_bigint::BigInt;
    use num_traits::{One, Zero};
    let q = n.denom();
    let (mut rest, mut twos, mut fives) = (q.clone(), 0u32, 0u32);
    let (two, five) = (BigInt::from(2), BigInt::from(5));
    while (&rest % &two).is_zero() {
        rest /= &two;
        twos += 1;
    }
    while (&rest % &five).is_zero() {
        rest /= &five;
        fives += 1;
    }
    let tens = twos.min(fives) > 0;
    if !rest.is_one() || q.is_one() || !(tens || *q > BigInt::from(100)) {
        return None;
    }
    let places = twos.max(fives) as usize;
    let scaled = (n.numer() * BigInt::from(10).pow(places as u32) / q).to_string();
    let (sign, digits) = match scaled.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", scaled.as_str()),
    };
    let digits = format!("{digits:0>width$}", width = places + 1);
    let (whole, fraction) = digits.split_at(digits.len() - places);
    Some(format!("{sign}{whole}.{fraction}"))
}

/// The word a printed factor starts or ends with, when it is a name or a number (not a
/// parenthesis, a transpose mark or an operator).
fn edge_word(e: &Expr, last: bool, format: Format) -> Option<String> {
    match &e.op {
        Op::Var(v, _) => Some(v.as_str().to_string()),
        Op::Dvar(v) => Some(format!("d{v}")),
        Op::Num(n) if !n.is_negative() => Some(n.to_string()),
        Op::Call(f) if !last && !matches!(f, Func::Inv | Func::Norm1 | Func::Norm2 | Func::Abs) => {
            Some(f.name().to_string())
        }
        Op::Mul if precedence(e, format) >= PRODUCT => {
            edge_word(if last { e.b() } else { e.a() }, last, format)
        }
        Op::Pow | Op::HPow | Op::T | Op::Call(Func::Inv) if !last => edge_word(e.a(), last, format),
        _ => None,
    }
}

/// Whether two juxtaposed factors would read as one: a number on the right (`log(2)·2^a`), a
/// fraction on the left (`1/2·a`), or a name or function meeting a name where one is longer
/// than a letter (`lambda·w`, `2·tanh(x)`).
fn runs_together(a: &Expr, b: &Expr) -> bool {
    let Some(head) = edge_word(b, false, Format::Unicode) else {
        return false;
    };
    if head.starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    let Some(tail) = edge_word(a, true, Format::Unicode) else {
        return false;
    };
    tail.contains('/') || tail.chars().count() > 1 || head.chars().count() > 1
}

/// Binding strength, loosest first. An infix Kronecker product binds more loosely than a
/// matrix product, so a factor A ⊗ B of a product is always in parentheses.
const SUM: u8 = 1;
const NEG: u8 = 2;
const KRON: u8 = 3;
const PRODUCT: u8 = 4;
const POWER: u8 = 5;
const POSTFIX: u8 = 6;
const ATOM: u8 = 7;

fn precedence(e: &Expr, format: Format) -> u8 {
    match &e.op {
        Op::Add | Op::Sub => SUM,
        Op::Neg => NEG,
        Op::Num(n) if n.is_negative() => NEG,
        Op::Num(n) if !n.is_integer() && decimal(n).is_none() && format != Format::Latex => PRODUCT,
        Op::Mul | Op::Had | Op::HDiv => PRODUCT,
        Op::Div if format == Format::Latex => ATOM,
        Op::Div => PRODUCT,
        Op::Pow | Op::HPow => POWER,
        Op::Call(Func::Inv) if format == Format::Latex => POSTFIX,
        Op::T => POSTFIX,
        Op::Kron if matches!(format, Format::Latex | Format::Unicode) => KRON,
        _ => ATOM,
    }
}

struct Printer {
    format: Format,
}

impl Printer {
    fn expr(&self, out: &mut impl Write, e: &Expr) -> std::fmt::Result {
        match &e.op {
            Op::Num(n) => self.number(out, n),
            Op::Var(v, _) => self.name(out, v.as_str()),
            Op::Dvar(v) => {
                out.write_str(if self.format == Format::Latex {
                    "\\mathrm{d}"
                } else {
                    "d"
                })?;
                self.name(out, v.as_str())
            }
            Op::Eye | Op::Ones | Op::Zero => self.constant(out, &e.op, e.shape),
            Op::Neg => {
                out.write_str("-")?;
                self.child(out, e.a(), PRODUCT)
            }
            Op::Add | Op::Sub => {
                self.child(out, e.a(), SUM)?;
                out.write_str(if e.op == Op::Add { " + " } else { " - " })?;
                self.child(out, e.b(), KRON)
            }
            Op::Mul => self.product(out, e),
            Op::Div => self.division(out, e),
            Op::Had | Op::HDiv => {
                let sym = match (self.format, &e.op) {
                    (Format::Text, Op::Had) => ".*",
                    (Format::Text, _) => "./",
                    (Format::Unicode, Op::Had) => " ⊙ ",
                    (Format::Unicode, _) => " ⊘ ",
                    (Format::Latex, Op::Had) => " \\odot ",
                    (Format::Latex, _) => " \\oslash ",
                    (Format::Numpy | Format::Torch, Op::Had) => " * ",
                    (Format::Numpy | Format::Torch, _) => " / ",
                };
                self.child(out, e.a(), PRODUCT)?;
                out.write_str(sym)?;
                self.child(out, e.b(), POWER)
            }
            Op::Pow | Op::HPow => self.power(out, e),
            Op::T => {
                self.base(out, e.a(), POSTFIX)?;
                out.write_str(match self.format {
                    Format::Text => "'",
                    Format::Unicode => "ᵀ",
                    Format::Latex => "^\\top",
                    Format::Numpy | Format::Torch => ".T",
                })
            }
            Op::Call(f) => self.call(out, *f, e.a()),
            Op::Kron => self.kron(out, e.a(), e.b()),
            Op::Commutation(m, n) => self.commutation(out, *m, *n),
            Op::Size(d) => self.size(out, *d),
            Op::Max | Op::Min => self.extremum(out, e),
        }
    }

    /// A dimension used as a number: `n`, `(m*n)`.
    fn size(&self, out: &mut impl Write, d: crate::shape::Dim) -> std::fmt::Result {
        let product = d.is_product();
        match self.format {
            Format::Latex => out.write_str(&latex_dim(d)),
            Format::Numpy | Format::Torch if product => write!(out, "({})", numpy_dim(d)),
            Format::Numpy | Format::Torch => out.write_str(&numpy_dim(d)),
            Format::Unicode => write!(out, "{}", d.to_string().replace('*', "·")),
            Format::Text if product => write!(out, "({d})"),
            Format::Text => write!(out, "{d}"),
        }
    }

    /// `max(u, v)`, `min(u, v)`: entry by entry.
    fn extremum(&self, out: &mut impl Write, e: &Expr) -> std::fmt::Result {
        let name = if e.op == Op::Max { "max" } else { "min" };
        let torch_number = |x: &Expr| self.format == Format::Torch && x.as_num().is_some();
        let (before, between, after) = match self.format {
            Format::Text | Format::Unicode => (format!("{name}("), ", ", ")"),
            Format::Latex => (format!("\\{name}\\left("), ", ", "\\right)"),
            Format::Numpy => (format!("np.{name}imum("), ", ", ")"),
            Format::Torch => (format!("torch.{name}imum("), ", ", ")"),
        };
        out.write_str(&before)?;
        for (i, arg) in [e.a(), e.b()].into_iter().enumerate() {
            if i == 1 {
                out.write_str(between)?;
            }
            if torch_number(arg) {
                // torch.maximum takes tensors, not Python numbers.
                out.write_str("torch.tensor(float(")?;
                self.expr(out, arg)?;
                out.write_str("))")?;
            } else {
                self.expr(out, arg)?;
            }
        }
        out.write_str(after)
    }

    /// A ⊗ B; an identity factor shows its size (I_n ⊗ A), which the product leaves open.
    fn kron(&self, out: &mut impl Write, a: &Expr, b: &Expr) -> std::fmt::Result {
        let (before, between, after) = match self.format {
            Format::Text => ("kron(", ", ", ")"),
            Format::Numpy => ("np.kron(", ", ", ")"),
            Format::Torch => ("torch.kron(", ", ", ")"),
            Format::Latex => ("", " \\otimes ", ""),
            Format::Unicode => ("", " ⊗ ", ""),
        };
        let infix = before.is_empty();
        out.write_str(before)?;
        for (i, factor) in [a, b].into_iter().enumerate() {
            if i == 1 {
                out.write_str(between)?;
            }
            if infix && factor.op == Op::Eye {
                self.sized_identity(out, factor.shape.rows)?;
            } else if infix && factor.op == Op::Kron {
                // ⊗ is associative: I ⊗ K ⊗ I.
                self.child(out, factor, KRON)?;
            } else if infix {
                self.child(out, factor, PRODUCT)?;
            } else if self.format == Format::Torch && factor.op == Op::T {
                // torch.kron cannot take a transposed (non-contiguous) tensor.
                self.expr(out, factor)?;
                out.write_str(".contiguous()")?;
            } else {
                self.expr(out, factor)?;
            }
        }
        out.write_str(after)
    }

    /// I_n in LaTeX and unicode.
    fn sized_identity(&self, out: &mut impl Write, n: crate::shape::Dim) -> std::fmt::Result {
        match self.format {
            Format::Latex => write!(out, "I_{{{}}}", latex_dim(n)),
            _ => write!(out, "I{}", unicode_subscript(&n.to_string())),
        }
    }

    /// The commutation matrix: K_{m,n} in print, a permuted identity in Python.
    fn commutation(
        &self,
        out: &mut impl Write,
        m: crate::shape::Dim,
        n: crate::shape::Dim,
    ) -> std::fmt::Result {
        let (pm, pn) = (numpy_dim(m), numpy_dim(n));
        match self.format {
            Format::Text => write!(out, "commutation({m}, {n})"),
            Format::Latex => write!(out, "K_{{{},{}}}", latex_dim(m), latex_dim(n)),
            Format::Unicode => {
                write!(out, "K{}", unicode_subscript(&format!("{m},{n}")))
            }
            // Row i + n·j of K is the unit row at j + m·i.
            Format::Numpy => write!(
                out,
                "np.eye(({pm})*({pn}))[np.arange(({pm})*({pn})).reshape(({pm}), ({pn}), order='F').ravel()]"
            ),
            Format::Torch => write!(
                out,
                "torch.eye(({pm})*({pn}))[torch.arange(({pm})*({pn})).reshape(({pn}), ({pm})).T.reshape(-1)]"
            ),
        }
    }

    fn child_string(&self, e: &Expr, min: u8) -> String {
        let mut s = String::new();
        self.child(&mut s, e, min)
            .expect("writing to a String cannot fail");
        s
    }

    /// Writes the base of a superscript; in LaTeX a base that has a superscript of its own
    /// goes in braces (`{A^\top}^{-1}`), since `A^\top^{-1}` is a double superscript.
    fn base(&self, out: &mut impl Write, e: &Expr, min: u8) -> std::fmt::Result {
        let superscripted = matches!(e.op, Op::T | Op::Pow | Op::HPow | Op::Call(Func::Inv))
            || (e.op == Op::Ones && e.shape.is_row());
        if self.format == Format::Latex && superscripted && precedence(e, self.format) >= min {
            out.write_str("{")?;
            self.expr(out, e)?;
            return out.write_str("}");
        }
        self.child(out, e, min)
    }

    /// Writes `e`, in parentheses when it binds more loosely than `min`.
    fn child(&self, out: &mut impl Write, e: &Expr, min: u8) -> std::fmt::Result {
        if precedence(e, self.format) >= min {
            return self.expr(out, e);
        }
        let (open, close) = if self.format == Format::Latex {
            ("\\left(", "\\right)")
        } else {
            ("(", ")")
        };
        out.write_str(open)?;
        self.expr(out, e)?;
        out.write_str(close)
    }

    fn number(&self, out: &mut impl Write, n: &BigRational) -> std::fmt::Result {
        if n.is_integer() {
            return write!(out, "{}", n.numer());
        }
        if let Some(decimal) = decimal(n) {
            return out.write_str(&decimal);
        }
        let sign = if n.is_negative() { "-" } else { "" };
        let (p, q) = (n.numer().abs(), n.denom());
        match self.format {
            Format::Latex => write!(out, "{sign}\\frac{{{p}}}{{{q}}}"),
            _ => write!(out, "{sign}{p}/{q}"),
        }
    }

    fn name(&self, out: &mut impl Write, name: &str) -> std::fmt::Result {
        if self.python() {
            return out.write_str(&numpy_name(name));
        }
        if self.format != Format::Latex {
            return out.write_str(name);
        }
        let (base, sub) = match name.split_once('_') {
            Some((b, s)) => (b, s),
            None => {
                let cut = name
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .len()
                    .max(1);
                name.split_at(cut)
            }
        };
        const GREEK: [&str; 20] = [
            "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa",
            "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "omega",
        ];
        if GREEK.contains(&base) || GREEK.contains(&base.to_lowercase().as_str()) {
            write!(out, "\\{base}")?;
        } else if base.chars().count() > 1 {
            write!(out, "\\mathrm{{{base}}}")?;
        } else {
            out.write_str(base)?;
        }
        if !sub.is_empty() {
            write!(out, "_{{{sub}}}")?;
        }
        Ok(())
    }

    fn constant(&self, out: &mut impl Write, op: &Op, shape: Shape) -> std::fmt::Result {
        let (r, c) = (shape.rows, shape.cols);
        match (self.format, op) {
            (Format::Latex, Op::Eye) => out.write_str("I"),
            (Format::Latex, Op::Ones) if shape.is_row() => out.write_str("\\mathbf{1}^\\top"),
            (Format::Latex, Op::Ones) => out.write_str("\\mathbf{1}"),
            (Format::Latex, _) => out.write_str("0"),
            (Format::Unicode, Op::Eye) => out.write_str("I"),
            (Format::Unicode, Op::Ones) if shape.is_row() => out.write_str("𝟏ᵀ"),
            (Format::Unicode, Op::Ones) => out.write_str("𝟏"),
            (Format::Unicode, _) => out.write_str("0"),
            (Format::Numpy | Format::Torch, Op::Eye) => {
                write!(out, "{}.eye({})", self.module(), numpy_dim(r))
            }
            (Format::Numpy | Format::Torch, Op::Ones) => {
                write!(
                    out,
                    "{}.ones(({}, {}))",
                    self.module(),
                    numpy_dim(r),
                    numpy_dim(c)
                )
            }
            (Format::Numpy | Format::Torch, _) => {
                write!(
                    out,
                    "{}.zeros(({}, {}))",
                    self.module(),
                    numpy_dim(r),
                    numpy_dim(c)
                )
            }
            (Format::Text, Op::Eye) => write!(out, "eye({r})"),
            (Format::Text, _) => {
                let name = if *op == Op::Ones { "ones" } else { "zeros" };
                if shape.rows.is_one() {
                    return write!(out, "{name}({c})'");
                }
                if shape.cols.is_one() {
                    write!(out, "{name}({r})")
                } else {
                    write!(out, "{name}({r}, {c})")
                }
            }
        }
    }

    fn product(&self, out: &mut impl Write, e: &Expr) -> std::fmt::Result {
        let (a, b) = (e.a(), e.b());
        // A unit fraction of a scalar reads as a quotient: N/2, not 1/2*N (and N/2*A for
        // 1/2*N*A).
        if let Some(n) = a.as_num().filter(|n| is_unit_fraction(n)) {
            let (scalar, rest) = match &b.op {
                Op::Mul if b.a().shape.is_scalar() && b.a().as_num().is_none() => {
                    (b.a(), Some(b.b()))
                }
                _ if b.shape.is_scalar() && b.as_num().is_none() => (b, None),
                _ => return self.plain_product(out, a, b),
            };
            let mut quotient =
                Expr::node(Op::Div, vec![scalar.clone(), denominator(n)], Shape::SCALAR);
            if let Some(rest) = rest {
                quotient = Expr::node(Op::Mul, vec![quotient, rest.clone()], e.shape);
            }
            return self.expr(out, &signed_like(n, quotient));
        }
        self.plain_product(out, a, b)
    }

    fn plain_product(&self, out: &mut impl Write, a: &Expr, b: &Expr) -> std::fmt::Result {
        if self.format == Format::Unicode {
            // Juxtaposition, as printed in books (2x, Xw, xᵀ(A + Aᵀ)), with a dot where two
            // words or two numbers would run together (λ·w, 2·tanh(x), 2·3).
            let (left, right) = (self.child_string(a, PRODUCT), self.child_string(b, POWER));
            let wrapped = |x: &Expr, min: u8| precedence(x, self.format) < min;
            let dot = if !wrapped(a, PRODUCT) && !wrapped(b, POWER) && runs_together(a, b) {
                "·"
            } else {
                ""
            };
            return write!(out, "{left}{dot}{right}");
        }
        self.child(out, a, PRODUCT)?;
        let scaling = a.shape.is_scalar() || b.shape.is_scalar();
        out.write_str(match self.format {
            Format::Numpy | Format::Torch if scaling => " * ",
            Format::Numpy | Format::Torch => " @ ",
            Format::Latex => " ",
            _ => "*",
        })?;
        self.child(out, b, POWER)
    }

    fn division(&self, out: &mut impl Write, e: &Expr) -> std::fmt::Result {
        // A unit fraction in front joins the divisor: A*B/(2*s), not 1/2*A*B/s.
        if let Some((n, rest)) = without_leading_unit_fraction(e.a()) {
            let divisor = Expr::node(Op::Mul, vec![denominator(&n), e.b().clone()], e.b().shape);
            let quotient = Expr::node(Op::Div, vec![rest, divisor], e.shape);
            return self.expr(out, &signed_like(&n, quotient));
        }
        if self.format == Format::Latex {
            out.write_str("\\frac{")?;
            self.expr(out, e.a())?;
            out.write_str("}{")?;
            self.expr(out, e.b())?;
            return out.write_str("}");
        }
        self.child(out, e.a(), PRODUCT)?;
        out.write_str(if self.format == Format::Text {
            "/"
        } else {
            " / "
        })?;
        self.child(out, e.b(), POWER)
    }

    fn power(&self, out: &mut impl Write, e: &Expr) -> std::fmt::Result {
        let (base, exponent) = (e.a(), e.b());
        let matrix = e.op == Op::Pow && !base.shape.is_scalar();
        if self.python() && matrix {
            write!(out, "{}.linalg.matrix_power(", self.module())?;
            self.expr(out, base)?;
            out.write_str(", ")?;
            self.expr(out, exponent)?;
            return out.write_str(")");
        }
        self.base(out, base, POSTFIX)?;
        match self.format {
            Format::Latex => {
                out.write_str(if e.op == Op::HPow { "^{\\circ " } else { "^{" })?;
                self.expr(out, exponent)?;
                out.write_str("}")
            }
            _ => {
                out.write_str(match (self.format, &e.op) {
                    (Format::Numpy | Format::Torch, _) => "**",
                    (Format::Text, Op::HPow) => ".^",
                    (Format::Unicode, Op::HPow) => "^∘",
                    _ => "^",
                })?;
                self.child(out, exponent, POSTFIX)
            }
        }
    }

    fn call(&self, out: &mut impl Write, f: Func, a: &Expr) -> std::fmt::Result {
        // vec(Iₙ) shows its size, which nothing around it tells.
        if f == Func::Vec
            && a.op == Op::Eye
            && matches!(self.format, Format::Latex | Format::Unicode)
        {
            out.write_str(if self.format == Format::Latex {
                "\\operatorname{vec}\\left("
            } else {
                "vec("
            })?;
            self.sized_identity(out, a.shape.rows)?;
            return out.write_str(if self.format == Format::Latex {
                "\\right)"
            } else {
                ")"
            });
        }
        match self.format {
            Format::Text => self.wrapped(out, f.name(), a, "(", ")"),
            Format::Unicode => self.unicode_call(out, f, a),
            Format::Latex => self.latex_call(out, f, a),
            Format::Numpy | Format::Torch => self.python_call(out, f, a),
        }
    }

    fn wrapped(
        &self,
        out: &mut impl Write,
        before: &str,
        a: &Expr,
        open: &str,
        close: &str,
    ) -> std::fmt::Result {
        out.write_str(before)?;
        out.write_str(open)?;
        self.expr(out, a)?;
        out.write_str(close)
    }

    fn unicode_call(&self, out: &mut impl Write, f: Func, a: &Expr) -> std::fmt::Result {
        match f {
            Func::Inv => {
                self.child(out, a, ATOM)?;
                out.write_str("⁻¹")
            }
            Func::Norm1 => self.wrapped(out, "", a, "‖", "‖₁"),
            Func::Norm2 => self.wrapped(out, "", a, "‖", "‖"),
            Func::Abs => self.wrapped(out, "", a, "|", "|"),
            Func::Sqrt => self.wrapped(out, "√", a, "(", ")"),
            Func::Sigmoid => self.wrapped(out, "σ", a, "(", ")"),
            Func::Logdet => self.wrapped(out, "log det", a, "(", ")"),
            _ => self.wrapped(out, f.name(), a, "(", ")"),
        }
    }

    fn latex_call(&self, out: &mut impl Write, f: Func, a: &Expr) -> std::fmt::Result {
        let named = |name: &str| format!("\\operatorname{{{name}}}");
        let before = match f {
            Func::Inv => {
                self.base(out, a, ATOM)?;
                return out.write_str("^{-1}");
            }
            Func::Norm1 => return self.wrapped(out, "", a, "\\left\\|", "\\right\\|_1"),
            Func::Norm2 => return self.wrapped(out, "", a, "\\left\\|", "\\right\\|_2"),
            Func::Abs => return self.wrapped(out, "", a, "\\left|", "\\right|"),
            Func::Sqrt => return self.wrapped(out, "\\sqrt", a, "{", "}"),
            Func::Exp | Func::Log | Func::Sin | Func::Cos | Func::Tan | Func::Tanh | Func::Det => {
                format!("\\{}", f.name())
            }
            Func::Logdet => "\\log\\det".into(),
            Func::Sigmoid => "\\sigma".into(),
            Func::Tr => named("tr"),
            _ => named(f.name()),
        };
        self.wrapped(out, &before, a, "\\left(", "\\right)")
    }

    fn python_call(&self, out: &mut impl Write, f: Func, a: &Expr) -> std::fmt::Result {
        let m = self.module();
        let torch = self.format == Format::Torch;
        let (before, after): (String, &str) = match f {
            Func::Sigmoid if torch => (format!("{m}.sigmoid("), ")"),
            Func::Sigmoid => (format!("(1 / (1 + {m}.exp(-("), "))))"),
            Func::Relu if torch => (format!("{m}.relu("), ")"),
            Func::Relu => (format!("{m}.maximum("), ", 0)"),
            Func::Step => (format!("(({m}.sign("), ") + 1) / 2)"),
            Func::Norm1 => (format!("{m}.sum({m}.abs("), "))"),
            Func::Norm2 => (format!("{m}.linalg.norm("), ")"),
            Func::Tr => (format!("{m}.trace("), ")"),
            Func::Det => (format!("{m}.linalg.det("), ")"),
            Func::Logdet => (format!("{m}.linalg.slogdet("), ")[1]"),
            Func::Inv => (format!("{m}.linalg.inv("), ")"),
            Func::Diag if a.shape.is_column() => (format!("{m}.diagflat("), ")"),
            Func::Diag if torch => (format!("{m}.diagonal("), ").reshape(-1, 1)"),
            Func::Diag => (format!("{m}.diag("), ").reshape(-1, 1)"),
            // vec stacks columns: Fortran order in NumPy, the rows of the transpose in torch.
            Func::Vec if torch => {
                out.write_str("torch.reshape(")?;
                self.child(out, a, POSTFIX)?;
                return out.write_str(".T, (-1, 1))");
            }
            Func::Vec => (format!("{m}.reshape("), ", (-1, 1), order='F')"),
            Func::Softmax if torch => ("torch.softmax(".into(), ", dim=0)"),
            Func::Logsumexp if torch => ("torch.logsumexp(".into(), ".reshape(-1), 0)"),
            // One expression that names its argument once, stable for large entries.
            Func::Softmax => (
                "(lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum())(".into(),
                ")",
            ),
            Func::Logsumexp => (
                "(lambda z: z.max() + np.log(np.exp(z - z.max()).sum()))(".into(),
                ")",
            ),
            _ => (format!("{m}.{}(", f.name()), ")"),
        };
        if torch && a.as_num().is_some() {
            // torch functions take tensors, not Python numbers: torch.log(torch.tensor(float(2))).
            return self.wrapped(
                out,
                &format!("{before}torch.tensor(float("),
                a,
                "",
                &format!(")){after}"),
            );
        }
        self.wrapped(out, &before, a, "", after)
    }

    fn python(&self) -> bool {
        matches!(self.format, Format::Numpy | Format::Torch)
    }

    fn module(&self) -> &'static str {
        if self.format == Format::Torch {
            "torch"
        } else {
            "np"
        }
    }
}

/// `(±1/q, P)` for a product ±1/q·P whose leftmost factor is the unit fraction.
fn without_leading_unit_fraction(e: &Expr) -> Option<(BigRational, Expr)> {
    if e.op != Op::Mul {
        return None;
    }
    if let Some(n) = e.a().as_num() {
        return is_unit_fraction(n).then(|| (n.clone(), e.b().clone()));
    }
    let (n, rest) = without_leading_unit_fraction(e.a())?;
    Some((n, Expr::node(Op::Mul, vec![rest, e.b().clone()], e.shape)))
}

/// Whether `n` is ±1/q for a whole q > 1.
fn is_unit_fraction(n: &BigRational) -> bool {
    n.numer().abs().is_one() && !n.is_integer()
}

/// The denominator of `n` as a number.
fn denominator(n: &BigRational) -> Expr {
    Expr::num(BigRational::from_integer(n.denom().clone()))
}

/// `-e` for a negative `n`, else `e`.
fn signed_like(n: &BigRational, e: Expr) -> Expr {
    match n.is_negative() {
        true => Expr::node(Op::Neg, vec![e.clone()], e.shape),
        false => e,
    }
}
