"""Types of the extension module `nabla._nabla` (python/src/lib.rs)."""

from typing import Any, Callable, Literal, Optional, Tuple, Union

class NablaError(ValueError):
    """An input nabla cannot read or differentiate, with where it is in the input."""

    kind: str
    """`syntax`, `unknown-function`, `shape`, `wrt`, `unsupported`, `limit`, `time`, `option`, ..."""
    message: str
    hint: Optional[str]
    report: str
    """The message with the input line, a caret under the place, and the hint."""
    start: Optional[int]
    """Index into the input string where the error starts (None where there is no place)."""
    end: Optional[int]
    line: Optional[int]
    """1-based."""
    column: Optional[int]
    """1-based, in characters."""

class CheckReport:
    """What a comparison with central finite differences found."""

    @property
    def passed(self) -> bool: ...
    @property
    def points(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def max_error(self) -> float: ...
    @property
    def sizes(self) -> list[Tuple[str, int]]: ...
    def __bool__(self) -> bool: ...

class Derivative:
    """A derivative: its forms, the steps, a numeric check, a Python function."""

    @property
    def text(self) -> str:
        """In the input language: parses back as nabla input."""
    @property
    def unicode(self) -> str: ...
    @property
    def latex(self) -> str: ...
    @property
    def numpy(self) -> str:
        """NumPy over 2-D arrays: one expression, or assignments then the expression."""
    @property
    def torch(self) -> str: ...
    @property
    def markdown(self) -> str:
        """The equation in display LaTeX and the reading of the names."""
    @property
    def json(self) -> str: ...
    @property
    def variables(self) -> list[str]:
        """In order of first appearance: the parameters of `function()`."""
    def steps(self, format: Literal["markdown", "text"] = "markdown") -> str: ...
    def check(self, draws: int = 3, seed: int = 1) -> CheckReport: ...
    def function_source(
        self, name: str = "derivative", backend: Literal["numpy", "torch"] = "numpy"
    ) -> str: ...
    def function(
        self, name: str = "derivative", backend: Literal["numpy", "torch"] = "numpy"
    ) -> Callable[..., Any]:
        """The derivative as a function of the variables; vectors are 2-D columns (n, 1)."""
    def _repr_latex_(self) -> str: ...
    def _repr_markdown_(self) -> str: ...

def diff(
    expr: str,
    wrt: Union[str, Tuple[str, str]],
    layout: Literal["numerator", "denominator"] = "numerator",
    order: int = 1,
) -> Derivative:
    """The derivative of `expr` by `wrt`; raises NablaError for input nabla cannot take."""

def rules(format: Literal["markdown", "text", "latex"] = "markdown") -> str:
    """The identity table of rules/."""
