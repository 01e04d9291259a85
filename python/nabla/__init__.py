"""nabla: symbolic matrix calculus.

Differentiate an expression over scalars, vectors and matrices and get the derivative in
textbook form, as text, LaTeX, NumPy or PyTorch, with the derivation step by step and a
numeric check against finite differences::

    >>> import nabla
    >>> d = nabla.diff("x'*A*x", wrt="x")
    >>> d.text
    "x'*(A + A')"
    >>> d.latex
    'x^\\\\top \\\\left(A + A^\\\\top\\\\right)'

In Jupyter a derivative displays as its equation. The engine is the Rust library nabla; this
package is a thin layer over it (python/src/lib.rs).
"""

from ._nabla import CheckReport, Derivative, NablaError, diff, rules

__all__ = ["CheckReport", "Derivative", "NablaError", "diff", "rules"]
