//! Shapes of values: every value is a matrix `rows × cols`; scalars are `1 × 1`, column vectors `n × 1`.

use egg::Symbol;
use std::fmt;

/// One dimension of a shape: a literal size or a named symbolic size such as `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    /// A known size.
    Lit(u64),
    /// A symbolic size, bound to an integer only when evaluating.
    Sym(Symbol),
}

impl Dim {
    /// The size 1.
    pub const ONE: Dim = Dim::Lit(1);

    /// Whether this is the literal size 1.
    pub fn is_one(self) -> bool {
        self == Dim::ONE
    }

    /// The product of two sizes, as the length of vec(X) or a side of a Kronecker product:
    /// literals multiply; symbolic factors are kept in one canonical name (`m*n`, `2*n`).
    pub fn times(self, other: Dim) -> Dim {
        match (self, other) {
            (Dim::Lit(1), d) | (d, Dim::Lit(1)) => return d,
            (Dim::Lit(a), Dim::Lit(b)) => return Dim::Lit(a.saturating_mul(b)),
            _ => {}
        }
        thread_local! {
            /// Products already named: naming one takes string work, and shapes of Kronecker
            /// products and vecs ask for the same few again and again.
            static PRODUCTS: std::cell::RefCell<rustc_hash::FxHashMap<(Dim, Dim), Dim>> =
                Default::default();
        }
        if let Some(known) = PRODUCTS.with(|p| p.borrow().get(&(self, other)).copied()) {
            return known;
        }
        let product = self.named_product(other);
        PRODUCTS.with(|p| p.borrow_mut().insert((self, other), product));
        product
    }

    fn named_product(self, other: Dim) -> Dim {
        let mut literal: u64 = 1;
        let mut names: Vec<String> = Vec::new();
        for factor in self.factors().into_iter().chain(other.factors()) {
            match factor {
                Dim::Lit(n) => literal = literal.saturating_mul(n),
                Dim::Sym(s) => names.push(s.to_string()),
            }
        }
        names.sort();
        if names.is_empty() {
            return Dim::Lit(literal);
        }
        if literal != 1 {
            names.insert(0, literal.to_string());
        }
        Dim::Sym(Symbol::from(names.join("*")))
    }

    /// Whether this is a product of sizes, such as `m*n`.
    pub fn is_product(self) -> bool {
        matches!(self, Dim::Sym(s) if s.as_str().contains('*'))
    }

    /// The factors of a size: `m*n` has `m` and `n`; a plain size is its own factor.
    pub fn factors(self) -> Vec<Dim> {
        match self {
            Dim::Lit(_) => vec![self],
            Dim::Sym(s) => s
                .as_str()
                .split('*')
                .map(|f| match f.parse() {
                    Ok(n) => Dim::Lit(n),
                    Err(_) => Dim::Sym(Symbol::from(f)),
                })
                .collect(),
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Lit(n) => write!(f, "{n}"),
            Dim::Sym(s) => write!(f, "{s}"),
        }
    }
}

/// The shape of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shape {
    /// Number of rows.
    pub rows: Dim,
    /// Number of columns.
    pub cols: Dim,
}

impl Shape {
    /// The `1 × 1` shape of a scalar.
    pub const SCALAR: Shape = Shape {
        rows: Dim::ONE,
        cols: Dim::ONE,
    };

    /// A shape of the given dimensions.
    pub fn new(rows: Dim, cols: Dim) -> Shape {
        Shape { rows, cols }
    }

    /// The shape of a column vector of length `n`.
    pub fn column(n: Dim) -> Shape {
        Shape::new(n, Dim::ONE)
    }

    /// The shape of the transpose.
    pub fn transposed(self) -> Shape {
        Shape::new(self.cols, self.rows)
    }

    /// Whether this is `1 × 1`.
    pub fn is_scalar(self) -> bool {
        self.rows.is_one() && self.cols.is_one()
    }

    /// Whether this is `n × 1` with `n` not 1.
    pub fn is_column(self) -> bool {
        self.cols.is_one() && !self.rows.is_one()
    }

    /// Whether this is `1 × n` with `n` not 1.
    pub fn is_row(self) -> bool {
        self.rows.is_one() && !self.cols.is_one()
    }

    /// Whether rows and columns agree.
    pub fn is_square(self) -> bool {
        self.rows == self.cols
    }

    /// The kind of value, in words, for messages and the derivative table.
    pub fn kind(self) -> &'static str {
        if self.is_scalar() {
            "scalar"
        } else if self.is_column() {
            "vector"
        } else if self.is_row() {
            "row vector"
        } else {
            "matrix"
        }
    }
}

impl fmt::Display for Shape {
    /// Prints the shape as a nabla type: `R`, `R^n`, `R^(1 x n)`, `R^(m x n)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_scalar() {
            write!(f, "R")
        } else if self.cols.is_one() && self.rows.is_product() {
            write!(f, "R^({} x 1)", self.rows)
        } else if self.cols.is_one() {
            write!(f, "R^{}", self.rows)
        } else {
            write!(f, "R^({} x {})", self.rows, self.cols)
        }
    }
}
