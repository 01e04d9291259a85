//! The whole pipeline on arbitrary bytes: parse → shapes → differentiate → identify →
//! simplify → print, then the text output parsed back.
//!
//! Layout of an input: the first line names the variable (an optional `--wrt` prefix and
//! anything after the first space are ignored, so `tests/errors/*.txt` files are inputs as
//! they are), the rest is the program. Without a newline the whole input is the program and
//! the variable is `x`. Bytes that are not UTF-8 are replaced, so every input is tried.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nabla::{Format, Layout, Options};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (wrt, input) = match text.split_once('\n') {
        Some((line, rest)) => {
            let line = line.trim();
            let line = line.strip_prefix("--wrt").unwrap_or(line).trim_start();
            (line.split(' ').next().unwrap_or(""), rest)
        }
        None => ("x", &*text),
    };
    for layout in [Layout::Numerator, Layout::Denominator] {
        let options = Options {
            layout,
            ..Options::default()
        };
        let d = match nabla::diff(input, wrt, &options) {
            Ok(d) => d,
            Err(nabla::Error::Internal { message }) => {
                panic!("internal error (a panic caught by nabla): {message}");
            }
            Err(e) => {
                // What the command line prints for an error, caret and all.
                let shown = e.render(input);
                assert!(!shown.is_empty(), "an empty error message");
                continue;
            }
        };
        for format in [
            Format::Text,
            Format::Unicode,
            Format::Latex,
            Format::Numpy,
            Format::Torch,
        ] {
            let printed = d.format(format);
            assert!(!printed.is_empty(), "{format:?} printed nothing");
        }
        let again = format!("{}{}", d.input.declarations(), d.text());
        if let Err(e) = nabla::read(&again) {
            panic!(
                "the text output does not parse back:\n{again}\n{}",
                e.render(&again)
            );
        }
    }
});
