//! The README's examples are real output: every `$ nabla ...` line in a fenced block is run and
//! its standard output compared with the lines that follow it.

use std::process::Command;

/// Splits a shell command line on spaces, honouring double and single quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if started {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            _ => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

/// The examples: each command with the output lines after it, up to the next command or fence.
fn examples(readme: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut in_block = false;
    let mut collecting = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            collecting = false;
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ nabla ") {
            out.push((command.to_string(), String::new()));
            collecting = true;
        } else if let Some((_, expected)) = out.last_mut().filter(|_| collecting) {
            expected.push_str(line);
            expected.push('\n');
        }
    }
    out
}

#[test]
fn the_readme_examples_are_real_output() {
    let readme = include_str!("../README.md");
    let examples = examples(readme);
    assert!(
        examples.len() >= 15,
        "the README shows {} examples",
        examples.len()
    );
    for (command, expected) in examples {
        let output = Command::new(env!("CARGO_BIN_EXE_nabla"))
            .args(words(&command))
            .output()
            .expect("nabla runs");
        let stdout = String::from_utf8(output.stdout).expect("utf-8");
        assert_eq!(stdout, expected, "`nabla {command}` printed something else");
        assert!(output.status.success(), "`nabla {command}` failed");
    }
}
