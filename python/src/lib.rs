//! The Python module `nabla._nabla`: the nabla library for Python, re-exported by the package
//! `nabla` (python/nabla/__init__.py). Glue only: every behaviour is the library's. The GIL is
//! released while the library works, so other Python threads run meanwhile.

use nabla::check::CheckOptions;
use nabla::{Format, Layout, Options};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    _nabla,
    NablaError,
    PyValueError,
    "An input nabla cannot read or differentiate. Attributes: `kind` (`syntax`, `shape`, ...), \
     `message`, `hint`, `report` (with the input line and a caret), and where it is: `start` \
     and `end` (string indices into the input), `line` and `column`; None where there is no place."
);

/// The library's error as a [`NablaError`] carrying its message and position.
fn raise(py: Python<'_>, e: nabla::Error, input: &str) -> PyErr {
    let report = e.render(input);
    let err = NablaError::new_err(report.clone());
    let value = err.value(py);
    let place = e
        .span()
        .map(|span| (span.chars(input), span.line_column(input)));
    // Setting an attribute on a fresh exception object cannot fail.
    let _ = value.setattr("kind", e.kind());
    let _ = value.setattr("message", e.to_string());
    let _ = value.setattr("hint", e.hint());
    let _ = value.setattr("report", report);
    let _ = value.setattr("start", place.map(|((start, _), _)| start));
    let _ = value.setattr("end", place.map(|((_, end), _)| end));
    let _ = value.setattr("line", place.map(|(_, (line, _))| line));
    let _ = value.setattr("column", place.map(|(_, (_, column))| column));
    err
}

/// The derivative of `expr` by `wrt` (a variable, or `"x,y"` / `("x", "y")` for a mixed
/// second derivative), in `layout` (`"numerator"` or `"denominator"`), of `order` 1 or 2.
#[pyfunction]
#[pyo3(signature = (expr, wrt, layout = "numerator", order = 1))]
fn diff(py: Python<'_>, expr: &str, wrt: WrtArg, layout: &str, order: u8) -> PyResult<Derivative> {
    let wrt = wrt.joined();
    let result = py.detach(|| {
        let layout: Layout = layout.parse()?;
        let (first, options) = Options::for_problem(&wrt, order, layout)?;
        nabla::diff(expr, &first, &options)
    });
    match result {
        Ok(derivative) => Ok(Derivative {
            derivative,
            source: expr.to_string(),
        }),
        Err(e) => Err(raise(py, e, expr)),
    }
}

/// The variable argument: one name (or `"x,y"`), or two names.
#[derive(FromPyObject)]
enum WrtArg {
    One(String),
    Two(String, String),
}

impl WrtArg {
    fn joined(self) -> String {
        match self {
            WrtArg::One(x) => x,
            WrtArg::Two(x, y) => format!("{x},{y}"),
        }
    }
}

/// The identity table of rules/ (`nabla rules`) as Markdown, or `"text"` / `"latex"`.
#[pyfunction]
#[pyo3(signature = (format = "markdown"))]
fn rules(format: &str) -> PyResult<String> {
    use nabla::reference::{TableFormat, rules_table};
    let format = match format {
        "markdown" => TableFormat::Markdown,
        "text" => TableFormat::Text,
        "latex" => TableFormat::Latex,
        other => {
            return Err(PyValueError::new_err(format!(
                "`{other}` is not a table format: markdown, text or latex"
            )));
        }
    };
    Ok(rules_table(format))
}

/// A derivative: its forms as attributes, the steps, a numeric check, and a Python function.
#[pyclass(frozen, module = "nabla")]
struct Derivative {
    derivative: nabla::Derivative,
    source: String,
}

#[pymethods]
impl Derivative {
    /// In the input language (parses back as nabla input).
    #[getter]
    fn text(&self, py: Python<'_>) -> String {
        self.format(py, Format::Text)
    }

    /// In mathematical unicode.
    #[getter]
    fn unicode(&self, py: Python<'_>) -> String {
        self.format(py, Format::Unicode)
    }

    /// In LaTeX.
    #[getter]
    fn latex(&self, py: Python<'_>) -> String {
        self.format(py, Format::Latex)
    }

    /// A NumPy expression over 2-D arrays (assignments first where parts are shared).
    #[getter]
    fn numpy(&self, py: Python<'_>) -> String {
        self.format(py, Format::Numpy)
    }

    /// A PyTorch expression over 2-D tensors.
    #[getter]
    fn torch(&self, py: Python<'_>) -> String {
        self.format(py, Format::Torch)
    }

    /// A Markdown block: the equation in display LaTeX and the reading of the names.
    #[getter]
    fn markdown(&self, py: Python<'_>) -> String {
        py.detach(|| self.derivative.markdown())
    }

    /// Everything as one JSON object, as `nabla diff --format json` prints it.
    #[getter]
    fn json(&self, py: Python<'_>) -> String {
        py.detach(|| self.derivative.json(None))
    }

    /// The derivation step by step, as Markdown with LaTeX (`"markdown"`) or plain text
    /// (`"text"`); for first derivatives.
    #[pyo3(signature = (format = "markdown"))]
    fn steps(&self, py: Python<'_>, format: &str) -> PyResult<String> {
        let markdown = match format {
            "markdown" => true,
            "text" => false,
            other => {
                return Err(PyValueError::new_err(format!(
                    "`{other}` is not a format of the steps: markdown or text"
                )));
            }
        };
        let steps = py.detach(|| self.derivative.steps());
        match steps {
            Ok(s) if markdown => Ok(s.markdown()),
            Ok(s) => Ok(s.text()),
            Err(e) => Err(raise(py, e, &self.source)),
        }
    }

    /// Compares the derivative with central finite differences at `draws` random points.
    #[pyo3(signature = (draws = 3, seed = 1))]
    fn check(&self, py: Python<'_>, draws: usize, seed: u64) -> CheckReport {
        let report = py.detach(|| self.derivative.check(CheckOptions { draws, seed }));
        CheckReport { report }
    }

    /// The source of a Python function `def name(...)` returning the derivative, over NumPy
    /// (`backend="numpy"`) or PyTorch (`"torch"`); dimensions come from the arguments' shapes.
    #[pyo3(signature = (name = "derivative", backend = "numpy"))]
    fn function_source(&self, py: Python<'_>, name: &str, backend: &str) -> PyResult<String> {
        let format = match backend {
            "numpy" => Format::Numpy,
            "torch" => Format::Torch,
            other => {
                return Err(PyValueError::new_err(format!(
                    "`{other}` is not a backend: numpy or torch"
                )));
            }
        };
        let function = py.detach(|| self.derivative.python_function(name, format));
        function.map_err(|e| raise(py, e, &self.source))
    }

    /// The derivative as a Python function of the variables (in order of first appearance),
    /// built from [`Derivative::function_source`]: vectors are 2-D columns `(n, 1)`.
    #[pyo3(signature = (name = "derivative", backend = "numpy"))]
    fn function<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        backend: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let source = self.function_source(py, name, backend)?;
        let scope = PyDict::new(py);
        let code =
            std::ffi::CString::new(source).map_err(|e| PyValueError::new_err(e.to_string()))?;
        py.run(&code, Some(&scope), None)?;
        scope.as_any().get_item(name)
    }

    /// The variables, in order of first appearance.
    #[getter]
    fn variables(&self) -> Vec<String> {
        (self.derivative.input.variables.iter())
            .map(|v| v.name.to_string())
            .collect()
    }

    fn _repr_latex_(&self, py: Python<'_>) -> String {
        format!("$${}$$", self.latex(py))
    }

    fn _repr_markdown_(&self, py: Python<'_>) -> String {
        self.markdown(py)
    }

    fn __str__(&self, py: Python<'_>) -> String {
        self.text(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("<nabla.Derivative {}>", self.text(py))
    }
}

impl Derivative {
    fn format(&self, py: Python<'_>, format: Format) -> String {
        py.detach(|| self.derivative.format(format))
    }
}

/// What a numeric check found.
#[pyclass(frozen, module = "nabla")]
struct CheckReport {
    report: nabla::check::CheckReport,
}

#[pymethods]
impl CheckReport {
    /// Whether every point agreed and at least one was compared.
    #[getter]
    fn passed(&self) -> bool {
        self.report.passed()
    }

    /// Points where the comparison was made.
    #[getter]
    fn points(&self) -> usize {
        self.report.compared
    }

    /// Random points skipped: outside the functions' domains, or too near a singularity.
    #[getter]
    fn skipped(&self) -> usize {
        self.report.skipped()
    }

    /// The largest relative error over the points.
    #[getter]
    fn max_error(&self) -> f64 {
        self.report.max_error
    }

    /// The sizes given to the dimensions at the first point.
    #[getter]
    fn sizes(&self) -> Vec<(String, usize)> {
        (self.report.sizes.iter())
            .map(|(d, n)| (d.to_string(), *n))
            .collect()
    }

    fn __bool__(&self) -> bool {
        self.report.passed()
    }

    fn __str__(&self) -> String {
        self.report.to_string()
    }

    fn __repr__(&self) -> String {
        format!("<nabla.CheckReport {}>", self.report)
    }
}

#[pymodule]
fn _nabla(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(diff, m)?)?;
    m.add_function(wrap_pyfunction!(rules, m)?)?;
    m.add_class::<Derivative>()?;
    m.add_class::<CheckReport>()?;
    m.add("NablaError", m.py().get_type::<NablaError>())?;
    Ok(())
}
