//! The nabla library for the web page, compiled to WebAssembly: every call takes the problem as
//! the page states it and answers one JSON object, so the Web Worker that runs it passes plain
//! strings. Glue only: every behaviour is the library's.

use nabla::{Error, Layout, Options};
use serde_json::{Value, json};
use wasm_bindgen::prelude::wasm_bindgen;

/// The derivative of `input` by `wrt` (`x`, or `x,y` for a mixed second derivative) in
/// `layout` (`numerator` or `denominator`) of `order` 1 or 2: `{"ok": true, "derivative":
/// ..., ...}` with the library's JSON of the derivative and its numeric check (`nabla diff
/// --format json --check`), the `markdown` block (the equation and the reading of the names),
/// the check as a sentence (`check_text`), and for a first derivative the derivation as
/// Markdown (`steps`, else null); or `{"ok": false, "error": ...}` (see [`error`]).
#[wasm_bindgen]
pub fn derive(input: &str, wrt: &str, layout: &str, order: u8) -> String {
    answer(input, derivation(input, wrt, layout, order))
}

fn derivation(input: &str, wrt: &str, layout: &str, order: u8) -> nabla::Result<Value> {
    let layout: Layout = layout.parse()?;
    let (first, options) = Options::for_problem(wrt, order, layout)?;
    let d = nabla::diff(input, &first, &options)?;
    let report = d.check(nabla::check::CheckOptions::default());
    let derivative: Value =
        serde_json::from_str(&d.json(Some(&report))).map_err(|e| Error::Internal {
            message: e.to_string(),
        })?;
    let steps = match d.steps() {
        Ok(steps) => json!(steps.markdown()),
        Err(Error::Option { .. }) => Value::Null,
        Err(e) => return Err(e),
    };
    Ok(json!({
        "ok": true,
        "derivative": derivative,
        "markdown": d.markdown(),
        "check_text": report.to_string(),
        "steps": steps,
    }))
}

/// The identity table of `rules/` as Markdown (`nabla rules --format markdown`).
#[wasm_bindgen]
pub fn rules() -> String {
    nabla::reference::rules_table(nabla::reference::TableFormat::Markdown)
}

/// The answer's JSON text: the value, or the error.
fn answer(input: &str, result: nabla::Result<Value>) -> String {
    match result {
        Ok(value) => value.to_string(),
        Err(e) => json!({ "ok": false, "error": error(&e, input) }).to_string(),
    }
}

/// An error for the page: its `kind`, `message` and `hint`, the `report` (the message with the
/// input line and a caret, as the command line prints it), and where it is: `start` and `end`
/// in UTF-16 code units of the input (JavaScript's string indices), `line` and `column`; the
/// place is null for errors that have none.
pub fn error(e: &Error, input: &str) -> Value {
    let place = e.span().map(|span| {
        let (start, end) = span.utf16(input);
        let (line, column) = span.line_column(input);
        json!({ "start": start, "end": end, "line": line, "column": column })
    });
    json!({
        "kind": e.kind(),
        "message": e.to_string(),
        "hint": e.hint(),
        "report": e.render(input),
        "place": place,
    })
}

/// Aborts the module as a bug in the engine would (a panic aborts in WebAssembly): what the
/// end-to-end test calls to see the page replace its worker and go on.
#[wasm_bindgen]
pub fn trap() {
    panic!("trap asked for by the page's test");
}
