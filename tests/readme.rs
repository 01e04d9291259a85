//! The README's shell lines are real: every line of a fenced `sh` block and every `$ ` line of
//! a fenced block is run with `sh`, in order, in one scratch folder, with the `nabla` under test
//! first on `PATH`; a `$ ` line's standard output is compared with the lines under it, up to the
//! next `$ ` line or the fence. The few lines not run are listed in [`NOT_RUN`], with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Shell lines of the README that the test does not run, and why.
const NOT_RUN: [(&str, &str); 5] = [
    ("cargo test", "it is the command that runs this test"),
    (
        "cargo install --path .",
        "it installs into ~/.cargo/bin, changing the machine; the test runs the binary it builds",
    ),
    (
        "pip install ./python",
        "it installs into the current Python; .ci/run installs it in a venv of its own and runs its tests",
    ),
    (
        "web/build.sh                              # build the page into web/site/",
        "it needs the WebAssembly tools; .ci/run builds the page and tests it in Chromium",
    ),
    (
        "python3 -m http.server -d web/site 8000   # serve it: open http://localhost:8000",
        "a server never ends; .ci/run serves the page for its end-to-end test",
    ),
];

/// A shell line of the README and the output shown under it (for a `$ ` line).
struct Line {
    /// The line number in the README, for messages.
    number: usize,
    command: String,
    /// The output shown, for a `$ ` line; `None` for a line of an `sh` block.
    expected: Option<String>,
}

/// The shell lines of the fenced blocks, in order.
fn shell_lines(readme: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut block: Option<&str> = None;
    let mut collecting = false;
    for (i, line) in readme.lines().enumerate() {
        if let Some(fence) = line.strip_prefix("```") {
            block = if block.is_some() { None } else { Some(fence) };
            collecting = false;
            continue;
        }
        let Some(language) = block else { continue };
        if let Some(command) = line.strip_prefix("$ ") {
            out.push(Line {
                number: i + 1,
                command: command.to_string(),
                expected: Some(String::new()),
            });
            collecting = true;
        } else if collecting {
            let expected = out.last_mut().and_then(|l| l.expected.as_mut());
            let expected = expected.expect("a `$ ` line collects its output");
            expected.push_str(line);
            expected.push('\n');
        } else if language == "sh" && !line.trim().is_empty() {
            out.push(Line {
                number: i + 1,
                command: line.to_string(),
                expected: None,
            });
        }
    }
    out
}

/// A fresh scratch folder for the commands, which write files (`> nabla.1`).
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nabla-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// `PATH` with the folder of the `nabla` under test first.
fn path_with_nabla() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_nabla"))
        .parent()
        .expect("the binary's folder");
    let rest = std::env::var("PATH").unwrap_or_default();
    format!("{}:{rest}", bin.display())
}

#[test]
fn every_shell_line_of_the_readme_runs_as_shown() {
    let readme = include_str!("../README.md");
    let lines = shell_lines(readme);
    assert!(
        lines.len() >= 40,
        "the README shows {} shell lines",
        lines.len()
    );
    let dir = scratch();
    let path = path_with_nabla();
    let mut skipped = Vec::new();
    for line in &lines {
        if let Some((_, why)) = NOT_RUN.iter().find(|(c, _)| line.command.trim() == *c) {
            skipped.push(why);
            continue;
        }
        // `cargo run --release -- ARGS` runs the binary this test runs.
        let command = line.command.replace("cargo run --release -- ", "nabla ");
        let output = Command::new("sh")
            .args(["-c", &command])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", &path)
            .output()
            .expect("sh runs");
        let stdout = String::from_utf8(output.stdout).expect("utf-8");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let at = format!("README.md:{}: `{}`", line.number, line.command);
        assert!(output.status.success(), "{at} failed\n{stdout}\n{stderr}");
        if let Some(expected) = &line.expected {
            assert_eq!(&stdout, expected, "{at} printed something else");
        }
    }
    assert_eq!(
        skipped.len(),
        NOT_RUN.len(),
        "every line not run is in the README"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_shell_line_hides_outside_a_fenced_block() {
    // Indented blocks are not run: they may hold input or a diagram, never a command.
    let mut fenced = false;
    for (i, line) in include_str!("../README.md").lines().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        let indented = line.strip_prefix("    ").map(str::trim_start);
        if let Some(code) = indented.filter(|_| !fenced) {
            let command = ["$ ", "nabla ", "cargo ", "echo ", "printf ", "pip "];
            assert!(
                !command.iter().any(|c| code.starts_with(c)),
                "README.md:{}: a shell line in an indented block is not run: fence it",
                i + 1
            );
        }
    }
}
