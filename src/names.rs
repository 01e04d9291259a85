//! How an undeclared name is read when the expression leaves its shape open: the conventions
//! of notes in linear algebra (a–g scalars, h–z vectors, A–Z matrices, as matrixcalculus.org)
//! and, for Greek letters and their spelled names, of notes in statistics and machine
//! learning (λ a regularization weight, θ a parameter vector).

/// What an undeclared name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A scalar.
    Scalar,
    /// A column vector.
    Vector,
    /// A matrix.
    Matrix,
    /// A dimension used as a number (`sum(x)/n`).
    Dimension,
}

impl Kind {
    /// The kind as a noun: `a scalar`.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Scalar => "a scalar",
            Kind::Vector => "a vector",
            Kind::Matrix => "a matrix",
            Kind::Dimension => "a dimension",
        }
    }

    /// The declaration that gives a name this kind: `x: R^n`.
    pub fn declaration(self, name: &str) -> String {
        match self {
            Kind::Scalar => format!("{name}: R"),
            Kind::Vector => format!("{name}: R^n"),
            Kind::Matrix => format!("{name}: R^(n x n)"),
            Kind::Dimension => format!("x: R^{name}"),
        }
    }
}

/// The reading a convention gives a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Convention {
    /// What the name is read as.
    pub kind: Kind,
    /// The convention, for a note: `names h–z are vectors`.
    pub rule: &'static str,
    /// Whether notes use the name for other kinds too often to read it silently.
    pub ambiguous: bool,
}

/// Greek letters, spelled and as characters, with what statistics and machine-learning notes
/// mean by them: step sizes, weights, scales and temperatures are scalars; θ and μ are
/// parameter and mean vectors. The ambiguous ones are read as the first kind, with a note.
const GREEK: [(&str, &str, Kind, bool); 24] = [
    ("alpha", "α", Kind::Scalar, false),
    ("beta", "β", Kind::Scalar, true),
    ("gamma", "γ", Kind::Scalar, false),
    ("delta", "δ", Kind::Scalar, false),
    ("epsilon", "εϵ", Kind::Scalar, true),
    ("zeta", "ζ", Kind::Scalar, true),
    ("eta", "η", Kind::Scalar, false),
    ("theta", "θϑ", Kind::Vector, false),
    ("iota", "ι", Kind::Scalar, true),
    ("kappa", "κ", Kind::Scalar, false),
    ("lambda", "λ", Kind::Scalar, false),
    ("mu", "μ", Kind::Vector, false),
    ("nu", "ν", Kind::Scalar, false),
    ("xi", "ξ", Kind::Vector, true),
    ("omicron", "ο", Kind::Scalar, true),
    ("pi", "π", Kind::Scalar, false),
    ("rho", "ρ", Kind::Scalar, false),
    ("sigma", "σς", Kind::Scalar, false),
    ("tau", "τ", Kind::Scalar, false),
    ("upsilon", "υ", Kind::Scalar, true),
    ("phi", "φϕ", Kind::Vector, true),
    ("chi", "χ", Kind::Scalar, true),
    ("psi", "ψ", Kind::Vector, true),
    ("omega", "ω", Kind::Vector, true),
];

/// The Greek letters as Markdown table rows, for the README and its test.
pub fn greek_table() -> String {
    let mut rows = String::from("| name | reading |\n|---|---|\n");
    for (spelled, letters, kind, ambiguous) in GREEK {
        let letters: Vec<String> = letters.chars().map(|c| format!("`{c}`")).collect();
        let note = if ambiguous { ", with a note" } else { "" };
        rows.push_str(&format!(
            "| `{spelled}` {} | {}{note} |\n",
            letters.join(" "),
            kind.noun()
        ));
    }
    rows
}

/// Undeclared names read as a dimension when used as a number (`sum(x)/n`).
pub const DIMENSIONS: [&str; 8] = ["n", "m", "p", "q", "k", "N", "M", "K"];

/// The part of a name a convention reads: `theta` of `theta_0`, `λ` of `λ2`.
fn stem(name: &str) -> &str {
    let end = name
        .find(|c: char| c.is_ascii_digit() || c == '_')
        .filter(|&i| i > 0)
        .unwrap_or(name.len());
    &name[..end]
}

/// The conventional reading of an undeclared name.
pub fn convention(name: &str) -> Convention {
    let stem = stem(name);
    // A Greek letter is one character past ASCII.
    let letter = !stem.is_ascii() && stem.chars().count() == 1;
    let greek = (GREEK.iter())
        .find(|(spelled, letters, ..)| *spelled == stem || (letter && letters.contains(stem)));
    if let Some(&(_, _, kind, ambiguous)) = greek {
        let rule = match kind {
            Kind::Scalar => "Greek letters for weights, rates and scales are scalars",
            _ => "θ, μ and their like are parameter vectors in ML notes",
        };
        return Convention {
            kind,
            rule,
            ambiguous,
        };
    }
    let first = name.chars().next().unwrap_or('a');
    let (kind, rule) = if first.is_uppercase() {
        (Kind::Matrix, "names A–Z are matrices")
    } else if ('h'..='z').contains(&first) {
        (Kind::Vector, "names h–z are vectors")
    } else if ('a'..='g').contains(&first) {
        (Kind::Scalar, "names a–g are scalars")
    } else {
        (Kind::Scalar, "names outside a–z and A–Z are scalars")
    };
    Convention {
        kind,
        rule,
        ambiguous: !first.is_ascii_alphabetic(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greek_letters_follow_statistics_and_ml_notes() {
        assert_eq!(convention("lambda").kind, Kind::Scalar);
        assert_eq!(convention("λ").kind, Kind::Scalar);
        assert_eq!(convention("theta").kind, Kind::Vector);
        assert_eq!(convention("θ").kind, Kind::Vector);
        assert_eq!(convention("theta_0").kind, Kind::Vector);
        assert_eq!(convention("mu").kind, Kind::Vector);
        assert_eq!(convention("Sigma").kind, Kind::Matrix);
        assert_eq!(convention("Σ").kind, Kind::Matrix);
        assert!(convention("beta").ambiguous);
        assert_eq!(convention("b").kind, Kind::Scalar);
        assert_eq!(convention("x").kind, Kind::Vector);
        assert_eq!(convention("eta2").kind, Kind::Scalar);
        assert_eq!(convention("ℓ").kind, Kind::Scalar);
        assert!(convention("ℓ").ambiguous);
    }
}
