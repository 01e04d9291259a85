//! A derivative as a complete Python function (`--function NAME`): `def NAME(X, w, y):` over
//! the input's variables, its dimensions read from the arguments' shapes, the shared
//! subexpressions as locals, returning the derivative under the `--format numpy` contract.

use crate::Derivative;
use crate::error::{Error, Result};
use crate::expr::{Expr, Node, Op};
use crate::print::{self, Format, numpy_name};
use crate::shape::Dim;
use crate::share::Shared;
use egg::Symbol;
use rustc_hash::FxHashSet;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::Arc;

/// The derivative as a Python module text: the import, then `def name(...)` returning it, in
/// NumPy or PyTorch ([`Format::Numpy`] or [`Format::Torch`]).
///
/// The parameters are the variables in order of first appearance (Python keywords take a
/// trailing underscore, as [`numpy_name`] spells them). Each dimension the derivative uses
/// is bound from the first argument that has it as its number of rows or columns; a dimension that no argument has
/// (one that only a constant such as `ones(k)` has) becomes a keyword-only parameter.
pub fn python_function(d: &Derivative, name: &str, format: Format) -> Result<String> {
    let import = match format {
        Format::Numpy => "import numpy as np",
        Format::Torch => "import torch",
        _ => {
            return Err(Error::Option {
                message: "a function is printed in Python: NumPy or PyTorch".into(),
                hint: "use --format numpy or --format torch with --function".into(),
            });
        }
    };
    check_identifier(name)?;
    let shared = d.shared();
    let mut out = format!("{import}\n\n\ndef {name}(");
    let mut parameters: Vec<String> = (d.input.variables.iter())
        .map(|v| numpy_name(v.name.as_str()))
        .collect();
    let (bound, unbound) = dimension_bindings(d, &shared);
    if !unbound.is_empty() {
        parameters.push("*".into());
        parameters.extend(unbound.iter().map(|s| numpy_name(s.as_str())));
    }
    let _ = writeln!(out, "{}):", parameters.join(", "));
    for line in bound {
        let _ = writeln!(out, "    {line}");
    }
    for (local, value) in &shared.definitions {
        let _ = writeln!(
            out,
            "    {} = {}",
            numpy_name(local.as_str()),
            print::print(value, format)
        );
    }
    let _ = writeln!(out, "    return {}", print::print(&shared.body, format));
    Ok(out)
}

/// `n = x.shape[0]` for each dimension the derivative uses that some argument has as its rows
/// or columns, and the dimensions that only the expression has (`ones(k)`), which the caller
/// passes.
fn dimension_bindings(d: &Derivative, shared: &Shared) -> (Vec<String>, Vec<Symbol>) {
    let mut seen = FxHashSet::default();
    let mut used = BTreeSet::new();
    for e in (shared.definitions.iter().map(|(_, e)| e)).chain([&shared.body]) {
        expression_dims(e, &mut seen, &mut used);
    }
    let mut bound = Vec::new();
    let mut unbound = Vec::new();
    for dim in used.into_iter().map(Symbol::from) {
        let from = (d.input.variables.iter()).find_map(|v| {
            let axis = [v.shape.rows, v.shape.cols]
                .iter()
                .position(|&side| side == Dim::Sym(dim))?;
            Some(format!(
                "{} = {}.shape[{axis}]",
                numpy_name(dim.as_str()),
                numpy_name(v.name.as_str())
            ))
        });
        match from {
            Some(line) => bound.push(line),
            None => unbound.push(dim),
        }
    }
    (bound, unbound)
}

/// The symbolic dimensions that the printed `e` names: those of its constants (`eye(n)`,
/// `ones(n)`, `zeros`, `commutation`), whose code spells their sizes, and dimensions used as
/// numbers; each shared node is
/// visited once.
fn expression_dims(e: &Expr, seen: &mut FxHashSet<*const Node>, dims: &mut BTreeSet<String>) {
    if !seen.insert(Arc::as_ptr(&e.0)) {
        return;
    }
    let mut name = |side: Dim| {
        for factor in side.factors() {
            if let Dim::Sym(s) = factor {
                dims.insert(s.to_string());
            }
        }
    };
    match e.op {
        Op::Eye | Op::Ones | Op::Zero | Op::Commutation(..) => {
            name(e.shape.rows);
            name(e.shape.cols);
        }
        // A dimension used as a number (`sum(x)/n`).
        Op::Size(d) => name(d),
        _ => {}
    }
    for a in &e.args {
        expression_dims(a, seen, dims);
    }
}

/// A function name must be a Python identifier that is not a keyword.
fn check_identifier(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    let identifier = starts_well && chars.all(|c| c.is_alphanumeric() || c == '_');
    if identifier && numpy_name(name) == name {
        return Ok(());
    }
    Err(Error::Option {
        message: format!("`{name}` cannot name a Python function"),
        hint: "give a Python identifier that is not a keyword, such as `gradient`".into(),
    })
}
