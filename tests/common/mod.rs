//! Helpers shared by the integration tests: the classic table and KaTeX rendering.
#![allow(dead_code)]

pub mod python;

use nabla::{Layout, Options};

/// A row of rules/table.txt: `name | variable | input | expected`.
pub struct Row {
    pub name: String,
    pub wrt: String,
    pub input: String,
    pub expected: String,
}

impl Row {
    /// The variable and options of the row: `x,y` asks for the second derivative by x then y.
    pub fn options(&self, layout: Layout) -> (&str, Options) {
        match self.wrt.split_once(',') {
            Some((x, y)) => (
                x,
                Options {
                    layout,
                    second: Some(y.to_string()),
                },
            ),
            None => (
                &self.wrt,
                Options {
                    layout,
                    second: None,
                },
            ),
        }
    }

    /// The row's derivative in `layout`.
    pub fn diff(&self, layout: Layout) -> nabla::Result<nabla::Derivative> {
        let (wrt, options) = self.options(layout);
        nabla::diff(&self.input, wrt, &options)
    }
}

/// Every row of the classic table.
pub fn rows() -> Vec<Row> {
    let rows: Vec<Row> = (include_str!("../../rules/table.txt").lines())
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            assert_eq!(f.len(), 4, "a table row has four fields: {l}");
            Row {
                name: f[0].into(),
                wrt: f[1].into(),
                input: f[2].into(),
                expected: f[3].into(),
            }
        })
        .collect();
    assert!(rows.len() >= 60, "the table has {} rows", rows.len());
    rows
}

/// Renders LaTeX with real KaTeX, failing on any error.
pub fn renders(latex: &str) -> Result<(), String> {
    let opts = katex::Opts::builder()
        .throw_on_error(true)
        .build()
        .expect("KaTeX options");
    katex::render_with_opts(latex, &opts)
        .map(|_| ())
        .map_err(|e| format!("`{latex}`: {e:?}"))
}
