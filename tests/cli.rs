//! Black-box tests of the `nabla` binary: exit codes, standard output and standard error.
//!
//! Every run clears the environment (so `NABLA_DEBUG`, `RUST_BACKTRACE`, `RUST_MIN_STACK`,
//! `CLICOLOR_FORCE`, ... cannot change what the binary prints) and gets no standard input
//! unless the test is about `-`. Snapshots live in the top-level `snapshots/` folder, named
//! `cli__*.snap`; the inputs of the error snapshots are the files `tests/errors/*.txt`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long one run of the binary may take before the test gives up on it.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the binary did.
struct Run {
    /// The exit code, or `None` when a signal ended the process (a crash).
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut = |s: &str| s.chars().take(2000).collect::<String>();
        write!(
            f,
            "exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }
}

/// Runs `nabla ARGS` with a cleared environment; `stdin` is piped in when given, else empty.
fn nabla(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .env_clear()
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the nabla binary");
    // Feed and drain the pipes from threads, so that neither a child that exits early nor
    // one that prints a lot can block the test.
    let writer = stdin.map(|text| {
        let mut pipe = child.stdin.take().unwrap();
        let text = text.to_owned();
        thread::spawn(move || {
            // The child may exit (on an error) before reading everything: ignore broken pipes.
            let _ = pipe.write_all(text.as_bytes());
        })
    });
    let reader = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            String::from_utf8(bytes).expect("nabla printed invalid UTF-8")
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nabla {args:?} ran longer than {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The command line, for snapshot descriptions and failure messages.
fn command_line(args: &[&str], stdin: Option<&str>) -> String {
    let mut line = String::from("nabla");
    for arg in args {
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "'\"*()^;|<>$".contains(c))
        {
            line.push_str(&format!(" \"{}\"", arg.replace('"', "\\\"")));
        } else {
            line.push(' ');
            line.push_str(arg);
        }
    }
    if let Some(text) = stdin {
        line.push_str(&format!("\nstdin:\n{text}"));
    }
    line
}

/// Held by the glob test for its whole run and by every other snapshot assertion: insta keeps
/// the glob in progress in a process-wide stack, so a snapshot that fails in another test
/// thread meanwhile would be counted as a failure of the glob instead of its own test.
static SNAPSHOTS: Mutex<()> = Mutex::new(());

fn lock_snapshots() -> MutexGuard<'static, ()> {
    SNAPSHOTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Snapshots `value` as `snapshots/cli__NAME.snap`, described by the command that printed it.
fn snapshot(name: &str, description: &str, value: &str) {
    let _lock = lock_snapshots();
    snapshot_unlocked(name, description, value);
}

/// [`snapshot`] for the glob test, which holds the lock already.
fn snapshot_unlocked(name: &str, description: &str, value: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => true,
        description => description,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, value);
    });
}

/// Asserts exit code 0 and an empty standard error, and returns standard output.
fn success(args: &[&str], stdin: Option<&str>) -> String {
    let run = nabla(args, stdin);
    let command = command_line(args, stdin);
    assert_eq!(run.code, Some(0), "{command}\n{run}");
    assert_eq!(run.stderr, "", "{command}\n{run}");
    assert!(run.stdout.ends_with('\n'), "{command}\n{run}");
    assert_eq!(run.stdout.lines().count(), 1, "{command}\n{run}");
    run.stdout
}

/// Asserts the exit code, an empty standard output and a standard error starting with `nabla: `.
fn failure(args: &[&str], stdin: Option<&str>, code: i32) -> Run {
    let run = nabla(args, stdin);
    let command = command_line(args, stdin);
    assert_eq!(run.code, Some(code), "{command}\n{run}");
    assert_eq!(run.stdout, "", "{command}\n{run}");
    assert!(run.stderr.starts_with("nabla: "), "{command}\n{run}");
    assert!(run.stderr.ends_with('\n'), "{command}\n{run}");
    run
}

/// Asserts that `stderr` points into `source`: a `,-[ input:LINE:COL ]` line, then the source
/// line LINE as written (cut with an ellipsis when long), then an underline starting under
/// column COL.
fn assert_caret(stderr: &str, source: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with(",-[ input:"))
        .unwrap_or_else(|| panic!("no `,-[ input:line:col ]` in\n{stderr}"));
    let position = lines[at]
        .trim()
        .trim_start_matches(",-[ input:")
        .trim_end_matches(" ]");
    let (line_no, col) = position
        .split_once(':')
        .unwrap_or_else(|| panic!("bad position line {:?}", lines[at]));
    let line_no: usize = line_no.parse().unwrap();
    let col: usize = col.parse().unwrap();
    assert!(line_no >= 1 && col >= 1, "{stderr}");
    let source_line = source.split('\n').nth(line_no - 1).unwrap_or_else(|| {
        panic!("line {line_no} is past the end of the input\n{stderr}");
    });
    let numbered = format!(" {line_no} | ");
    let shown_at = lines
        .iter()
        .position(|l| l.starts_with(&numbered))
        .unwrap_or_else(|| panic!("no source line {line_no} in\n{stderr}"));
    let shown = &lines[shown_at][numbered.len()..];
    match shown.strip_suffix('…') {
        Some(cut) => assert!(
            source_line.starts_with(cut) && source_line.len() > 120,
            "{stderr}"
        ),
        None => assert_eq!(shown, source_line, "{stderr}"),
    }
    let underline = lines
        .get(shown_at + 1)
        .and_then(|l| l.get(numbered.len()..))
        .unwrap_or_else(|| panic!("no underline after the source line in\n{stderr}"));
    let indent = underline.len() - underline.trim_start_matches(' ').len();
    // A span at the end of the line sits one column past its last character.
    let before = shown.len().min(col - 1);
    let width = shown[..before].chars().count() + (col - 1 - before);
    assert_eq!(
        indent, width,
        "the underline is not under column {col}\n{stderr}"
    );
    // Two labels (a conflict between two uses) underline two spans on one line.
    assert!(
        underline.trim().chars().all(|c| "^| ".contains(c)),
        "bad underline {underline:?}\n{stderr}"
    );
}

const QUADRATIC: &str = "x'*A*x";
const LEAST_SQUARES: &str = "norm2(X*w - y)^2";
const FORMATS: [&str; 5] = ["text", "unicode", "latex", "numpy", "json"];

#[test]
fn quadratic_form_by_its_vector() {
    let out = success(&["diff", QUADRATIC, "--wrt", "x"], None);
    assert_eq!(out, "x'*(A + A')\n");
}

#[test]
fn least_squares_by_the_weights() {
    let out = success(&["diff", LEAST_SQUARES, "--wrt", "w"], None);
    assert_eq!(out, "2*(X*w - y)'*X\n");
}

/// Snapshots every output format of `input` by `wrt` as `cli__format_NAME_FORMAT`.
fn each_format(name: &str, input: &str, wrt: &str) {
    for format in FORMATS {
        let args = ["diff", input, "--wrt", wrt, "--format", format];
        let out = success(&args, None);
        snapshot(
            &format!("format_{name}_{format}"),
            &command_line(&args, None),
            &out,
        );
    }
    // The default format is text.
    assert_eq!(
        success(&["diff", input, "--wrt", wrt], None),
        success(&["diff", input, "--wrt", wrt, "--format", "text"], None)
    );
}

#[test]
fn formats_of_the_quadratic_form() {
    each_format("quadratic", QUADRATIC, "x");
}

#[test]
fn formats_of_least_squares() {
    each_format("least_squares", LEAST_SQUARES, "w");
}

#[test]
fn denominator_layout() {
    for (name, input, wrt) in [
        ("quadratic", QUADRATIC, "x"),
        ("least_squares", LEAST_SQUARES, "w"),
    ] {
        let args = ["diff", input, "--wrt", wrt, "--layout", "denominator"];
        let out = success(&args, None);
        snapshot(
            &format!("layout_denominator_{name}"),
            &command_line(&args, None),
            &out,
        );
        // The default layout is numerator, and the two differ for a gradient.
        let numerator = success(
            &["diff", input, "--wrt", wrt, "--layout", "numerator"],
            None,
        );
        assert_eq!(numerator, success(&["diff", input, "--wrt", wrt], None));
        assert_ne!(numerator, out);
    }
}

#[test]
fn denominator_layout_in_latex() {
    let args = [
        "diff",
        LEAST_SQUARES,
        "--wrt",
        "w",
        "--layout",
        "denominator",
        "--format",
        "latex",
    ];
    let out = success(&args, None);
    snapshot(
        "layout_denominator_least_squares_latex",
        &command_line(&args, None),
        &out,
    );
}

#[test]
fn input_from_stdin() {
    let args = ["diff", "-", "--wrt", "x", "--format", "numpy"];
    let stdin = "sum(exp(x))\n";
    let out = success(&args, Some(stdin));
    snapshot("stdin_numpy", &command_line(&args, Some(stdin)), &out);
    // The same as the input given as an argument.
    assert_eq!(
        out,
        success(
            &["diff", "sum(exp(x))", "--wrt", "x", "--format", "numpy"],
            None
        )
    );
}

#[test]
fn program_over_several_lines_from_stdin() {
    let args = ["diff", "-", "--wrt", "w"];
    let stdin = "X: R^(m x n);\nw: R^n;\ny: R^m;\n\nr = X*w - y;\nr'*r\n";
    let out = success(&args, Some(stdin));
    snapshot("stdin_program", &command_line(&args, Some(stdin)), &out);
    // The same answer as the one-line program, in the program's own name r.
    let one_line = success(&["diff", "r = X*w - y; r'*r", "--wrt", "w"], None);
    assert_eq!(out, one_line);
    assert_eq!(out, "r = X*w - y; 2*r'*X\n");
}

#[test]
fn check_prints_the_derivative_then_passes() {
    for args in [
        &["diff", QUADRATIC, "--wrt", "x", "--check"][..],
        &[
            "diff", QUADRATIC, "--wrt", "x", "--check", "--seed", "7", "--draws", "5",
        ],
        &[
            "diff",
            LEAST_SQUARES,
            "--wrt",
            "w",
            "--check",
            "--layout",
            "denominator",
        ],
        &[
            "diff",
            "logdet(X)",
            "--wrt",
            "X",
            "--check",
            "--format",
            "latex",
        ],
    ] {
        let run = nabla(args, None);
        let command = command_line(args, None);
        assert_eq!(run.code, Some(0), "{command}\n{run}");
        // The same command without --check and the options of the check's data.
        let mut without_check: Vec<&str> = Vec::new();
        let mut rest = args.iter().copied();
        while let Some(arg) = rest.next() {
            match arg {
                "--check" => {}
                "--seed" | "--draws" => {
                    rest.next();
                }
                _ => without_check.push(arg),
            }
        }
        assert_eq!(
            run.stdout,
            success(&without_check, None),
            "{command}\n{run}"
        );
        assert!(run.stderr.starts_with("check ok"), "{command}\n{run}");
        assert_eq!(run.stderr.lines().count(), 1, "{command}\n{run}");
    }
}

#[test]
fn check_output_of_the_quadratic_form() {
    let run = nabla(&["diff", QUADRATIC, "--wrt", "x", "--check"], None);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stdout, "x'*(A + A')\n");
    assert!(
        run.stderr
            .starts_with("check ok: 3 points compared (n=2), max relative error "),
        "{run}"
    );
    assert!(
        run.stderr.ends_with(" against central differences\n"),
        "{run}"
    );
}

#[test]
fn help_lists_the_language() {
    for args in [&["--help"][..], &["diff", "--help"], &["help", "diff"]] {
        let run = nabla(args, None);
        let command = command_line(args, None);
        assert_eq!(run.code, Some(0), "{command}\n{run}");
        assert_eq!(run.stderr, "", "{command}\n{run}");
        assert!(run.stdout.contains("functions"), "{command}\n{run}");
        for function in [
            "exp",
            "sigmoid",
            "norm2",
            "logdet",
            "inv",
            "eye(n)",
            "zeros(m, n)",
        ] {
            assert!(
                run.stdout.contains(function),
                "{command}: no {function}\n{run}"
            );
        }
        assert!(run.stdout.contains("Usage: nabla"), "{command}\n{run}");
    }
    let run = nabla(&["diff", "--help"], None);
    for option in [
        "--wrt", "--format", "--layout", "--check", "--seed", "--draws",
    ] {
        assert!(
            run.stdout.contains(option),
            "diff --help: no {option}\n{run}"
        );
    }
}

#[test]
fn version() {
    let run = nabla(&["--version"], None);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stdout, format!("nabla {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(run.stderr, "");
}

#[test]
fn usage_errors_exit_2() {
    for (args, says) in [
        (&["diff", QUADRATIC, "--wrt", "x", "--bogus"][..], "--bogus"),
        (&["diff", QUADRATIC, "--wrt", "x", "-q"], "-q"),
        (&["diff", QUADRATIC], "--wrt"),
        (&["diff", "--wrt", "x"], "no input: give INPUT"),
        (&["diff", QUADRATIC, "--wrt", "x", "--format", "pdf"], "pdf"),
        (
            &["diff", QUADRATIC, "--wrt", "x", "--layout", "mixed"],
            "mixed",
        ),
        (&["diff", QUADRATIC, "--wrt", "x", "--seed", "-1"], "-1"),
        (
            &["diff", QUADRATIC, "--wrt", "x", "--draws", "many"],
            "many",
        ),
        (&["integrate", QUADRATIC], "integrate"),
        (&[], "Usage"),
    ] {
        let run = nabla(args, None);
        let command = command_line(args, None);
        assert_eq!(run.code, Some(2), "{command}\n{run}");
        assert_eq!(run.stdout, "", "{command}\n{run}");
        assert!(
            run.stderr.contains(says),
            "{command}: stderr does not name {says}\n{run}"
        );
        // One program name on every error; no tip to put the input after `--`, where the
        // options would be taken for input.
        assert!(
            run.stderr.starts_with("nabla: ") || args.is_empty(),
            "{command}\n{run}"
        );
        assert!(!run.stderr.contains("use '-- "), "{command}\n{run}");
    }
}

/// The exit code an input of `tests/errors/` must give: 1 for a derivative nabla cannot
/// express (files named `unsupported_*`), 2 for bad input.
fn expected_code(name: &str) -> i32 {
    if name.starts_with("unsupported_") {
        1
    } else {
        2
    }
}

/// Whether an error of `tests/errors/` has a position in the input: all but the problems
/// with `--wrt` and unsupported derivatives.
fn has_position(name: &str) -> bool {
    !name.starts_with("wrt_") && !name.starts_with("unsupported_")
}

/// Each `tests/errors/NAME.txt` holds the arguments after `diff` on its first line and the
/// input, passed on stdin with `-`, on the others. Snapshots `cli__error@NAME.txt.snap`.
#[test]
fn errors() {
    let _lock = lock_snapshots();
    insta::glob!("errors/*.txt", |path: &Path| {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let file = std::fs::read_to_string(path).unwrap();
        let (first, input) = file.split_once('\n').unwrap_or((&file, ""));
        let mut args = vec!["diff", "-"];
        args.extend(first.split_whitespace());
        let run = failure(&args, Some(input), expected_code(name));
        let command = command_line(&args, Some(input));
        if name.starts_with("unsupported_") {
            assert!(
                run.stderr.starts_with("nabla: unsupported derivative: "),
                "{command}\n{run}"
            );
        }
        if has_position(name) {
            assert_caret(&run.stderr, input);
        } else {
            assert!(!run.stderr.contains(",-["), "{command}\n{run}");
        }
        assert!(
            run.stderr.contains("| Help: ") || run.stderr.contains("\n  help: "),
            "{name}: no help line\n{run}"
        );
        snapshot_unlocked("error", &command, &run.stderr);
    });
}

#[test]
fn error_inputs_cover_the_error_classes() {
    let names: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    for prefix in [
        "syntax_",
        "unknown_function",
        "shape_mismatch_",
        "wrt_absent",
        "wrt_definition",
        "unsupported_",
        "division_by_",
        "trace_non_square",
        "matrix_power_non_integer",
        "declaration_bad_type",
        "declaration_property_non_square",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "no tests/errors/{prefix}*.txt"
        );
    }
}

#[test]
fn error_messages_say_what_went_wrong() {
    let stderr = |wrt: &str, input: &str, code: i32| {
        failure(&["diff", input, "--wrt", wrt], None, code).stderr
    };
    let unknown = stderr("x", "expp(x)", 2);
    assert!(
        unknown.starts_with("nabla: unknown function `expp`"),
        "{unknown}"
    );
    assert!(
        unknown.contains("`exp`"),
        "no suggestion of exp:\n{unknown}"
    );
    let shapes = stderr("x", "A: R^(m x n); x: R^m; A*x", 2);
    assert!(shapes.starts_with("nabla: shape mismatch: "), "{shapes}");
    assert!(
        shapes.contains("R^(m x n)") && shapes.contains("R^m"),
        "both shapes:\n{shapes}"
    );
    let absent = stderr("y", "x'*x", 2);
    assert!(
        absent.contains("`y`") && absent.contains("variables are: x"),
        "{absent}"
    );
    let definition = stderr("a", "a = X*w; norm2(a)^2", 2);
    assert!(definition.contains("`a` is a definition"), "{definition}");
    let unsupported = stderr("X", "A: R^(p x q); B: R^(m*p x n*q); tr(B'*kron(X, A))", 1);
    assert!(
        unsupported.starts_with("nabla: unsupported derivative: "),
        "{unsupported}"
    );
}

#[test]
fn error_from_an_argument_is_the_same_as_from_stdin() {
    for input in ["x'*A*", "(x'*A*x", "expp(x)", "A: R^(m x n); x: R^m; A*x"] {
        let from_argument = failure(&["diff", input, "--wrt", "x"], None, 2);
        let from_stdin = failure(&["diff", "-", "--wrt", "x"], Some(&format!("{input}\n")), 2);
        assert_eq!(from_argument.stderr, from_stdin.stderr, "{input}");
        assert_caret(&from_argument.stderr, input);
    }
}

#[test]
fn empty_stdin_is_bad_input() {
    let run = failure(&["diff", "-", "--wrt", "x"], Some(""), 2);
    assert!(run.stderr.starts_with("nabla: syntax error: "), "{run}");
    assert_caret(&run.stderr, "");
}

/// Asserts that `input` is refused with the nesting limit, as an argument and on stdin.
fn assert_too_deep(input: &str) {
    for (args, stdin) in [
        (vec!["diff", input, "--wrt", "x"], None),
        (vec!["diff", "-", "--wrt", "x"], Some(input)),
    ] {
        let run = failure(&args, stdin, 2);
        assert!(
            run.stderr
                .starts_with("nabla: input too large: the expression is nested deeper than"),
            "{}...\n{run}",
            &input[..40]
        );
        assert_caret(&run.stderr, input);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let n = 10_000;
    assert_too_deep(&format!("{}x{}", "(".repeat(n), ")".repeat(n)));
    assert_too_deep(&format!("sum({}x{})", "(".repeat(n), ")".repeat(n)));
    assert_too_deep(&format!("{}x{}", "exp(".repeat(n), ")".repeat(n)));
    assert_too_deep(&format!("sum({}x)", "-".repeat(n)));
    assert_too_deep(&format!("sum(x.^2{})", "^2".repeat(n)));
}

#[test]
fn moderate_nesting_is_fine() {
    let n = 100;
    let out = success(
        &[
            "diff",
            &format!("sum({}x{})", "(".repeat(n), ")".repeat(n)),
            "--wrt",
            "x",
        ],
        None,
    );
    assert_eq!(out, success(&["diff", "sum(x)", "--wrt", "x"], None));
}

#[test]
fn oversized_input_is_an_error_not_a_crash() {
    let input = format!("x{}", "+x".repeat(60_000));
    let run = failure(&["diff", "-", "--wrt", "x"], Some(&input), 2);
    assert!(
        run.stderr
            .starts_with("nabla: input too large: the input is 120001 bytes"),
        "{run}"
    );
    assert_caret(&run.stderr, &input);
}

/// Asserts that the binary ends by itself with a derivative or an error, not a crash.
fn assert_no_crash(input: &str) {
    let run = nabla(&["diff", "-", "--wrt", "x"], Some(input));
    assert!(
        matches!(run.code, Some(0 | 2)),
        "{}... crashed\n{run}",
        &input[..40]
    );
    assert!(!run.stderr.contains("overflow"), "{run}");
    if run.code == Some(2) {
        assert!(run.stderr.starts_with("nabla: "), "{run}");
    }
}

#[test]
fn long_transpose_chain_is_not_a_crash() {
    assert_no_crash(&format!("sum(x{})", "'".repeat(10_000)));
}

#[test]
fn long_sum_is_not_a_crash() {
    assert_no_crash(&format!("sum(x{})", "+x".repeat(10_000)));
}

#[test]
fn batch_answers_every_line_in_order_and_goes_on_after_errors() {
    let input = "x\tx'*A*x\nw\tnorm2(X*w - y)^2\n\n# a comment\nx\tx'*A*\nX\tX: R^(m x n); A: R^(p x q); B: R^(m*p x n*q); tr(B'*kron(X, A))\nx,x\tx'*A*x\nno tab here\n";
    let run = nabla(&["diff", "--batch", "-"], Some(input));
    assert_eq!(run.code, Some(2), "{run}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{run}");
    assert_eq!(lines[0], "x'*(A + A')");
    assert_eq!(lines[1], "2*(X*w - y)'*X");
    assert_eq!((lines[2], lines[3]), ("", ""));
    assert!(lines[4].starts_with("error: syntax error"), "{run}");
    assert!(
        lines[5].starts_with("error: unsupported derivative"),
        "{run}"
    );
    assert_eq!(lines[6], "A + A'");
    assert!(lines[7].starts_with("error: a batch line is"), "{run}");
    assert!(run.stderr.contains("nabla: line 5: syntax error"), "{run}");
    assert!(run.stderr.contains(" 1 | x'*A*\n   |      |"), "{run}");
}

#[test]
fn batch_on_all_cores_keeps_the_order() {
    let input: String = (1..=200).map(|k| format!("x\t{k}*x'*x\n")).collect();
    let run = nabla(&["diff", "--batch", "-", "--order", "2"], Some(&input));
    assert_eq!(run.code, Some(0), "{run}");
    let expected: Vec<String> = (1..=200).map(|k| format!("{}*eye(n)", 2 * k)).collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn batch_of_a_missing_file_is_an_error() {
    let run = failure(&["diff", "--batch", "/nonexistent/problems.tsv"], None, 2);
    assert!(
        run.stderr.contains("cannot read /nonexistent/problems.tsv"),
        "{run}"
    );
}

#[test]
fn a_closed_output_pipe_ends_nabla_quietly() {
    // `nabla ... | head`: the reader is gone before nabla writes. A chain of definitions makes
    // an output far larger than a pipe's buffer.
    let input: String = (1..=40)
        .map(|i| format!("p{i} = tanh(A*p{}); ", i - 1))
        .collect::<String>()
        .replace("p0", "x")
        + "sum(p40)";
    let mut child = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(["diff", &input, "--wrt", "A", "--format", "numpy"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nabla starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("nabla ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn json_holds_every_format_the_input_and_the_check() {
    let input = "X: R^(m x n); A: R^(p x m); B: R^(n x q); A*X*B";
    let run = nabla(
        &["diff", input, "--wrt", "X", "--format", "json", "--check"],
        None,
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stderr.is_empty(), "the check is in the object: {run}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    for format in ["text", "unicode", "latex", "numpy", "torch"] {
        let alone = nabla(&["diff", input, "--wrt", "X", "--format", format], None).stdout;
        assert_eq!(json[format].as_str(), Some(alone.trim_end()), "{format}");
    }
    let parsed = nabla::read(json["input"].as_str().expect("the input")).expect("reads");
    let again = nabla::read(input).expect("reads");
    assert_eq!(parsed.expr, again.expr, "the input field is the input");
    assert_eq!(json["wrt"], "X");
    assert_eq!(json["layout"], "numerator");
    assert_eq!(json["shape"]["rows"], "p*q");
    assert_eq!(json["shape"]["cols"], "m*n");
    assert!(
        json["vec_form"]
            .as_str()
            .is_some_and(|n| n.contains("numerator layout"))
    );
    assert_eq!(json["check"]["passed"], true);
    assert_eq!(json["variables"][0]["type"], "R^(m x n)");
    // A failed check is in the object and the exit code.
    let hessian = nabla(
        &["hessian", "x'*A*x", "--wrt", "x", "--format", "json"],
        None,
    );
    let json: serde_json::Value = serde_json::from_str(&hessian.stdout).expect("one JSON object");
    assert_eq!(
        (json["second"].as_str(), json["text"].as_str()),
        (Some("x"), Some("A + A'"))
    );
    // Batch mode: JSON lines, errors as objects.
    let batch = nabla(
        &["diff", "--batch", "-", "--format", "json"],
        Some("x\tx'*A*x\nx\tx'*A*\n"),
    );
    let lines: Vec<serde_json::Value> = (batch.stdout.lines())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines[0]["text"], "x'*(A + A')");
    assert!(
        lines[1]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("syntax error"))
    );
    assert_eq!(batch.code, Some(2), "{batch}");
}

// ---- A command line without traps (issue 10, item 3) ----

#[test]
fn an_input_may_start_with_a_minus() {
    let loss = "-sum(y.*log(p))";
    let expected = success(&["diff", "-(sum(y.*log(p)))", "--wrt", "p"], None);
    for args in [
        &["diff", loss, "--wrt", "p"][..],
        &["diff", "--wrt", "p", loss],
        &["diff", "--wrt", "p", "--", loss],
        &["diff", loss, "--wrt", "p", "--format", "text"],
    ] {
        assert_eq!(
            success(args, None),
            expected,
            "{}",
            command_line(args, None)
        );
    }
    let run = nabla(
        &["diff", loss, "--wrt", "p", "--format", "latex", "--check"],
        None,
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stderr.starts_with("check ok"), "{run}");
}

#[test]
fn a_mistyped_option_in_the_place_of_the_input_is_named() {
    let run = failure(&["diff", "--chek", "--wrt", "x"], None, 2);
    assert!(
        run.stderr.starts_with("nabla: unknown option `--chek`"),
        "{run}"
    );
    // After the input, clap's own error.
    let run = nabla(&["diff", "x'*x", "--wrt", "x", "--formt", "latex"], None);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("--formt"), "{run}");
}

/// A file in the temporary directory holding `text`, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("nabla-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("the temporary file is written");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn the_input_is_read_from_a_file() {
    let program = "X: R^(m x n); y: R^m\nr = X*w - y\nr'*r\n";
    // The answer in the program's own names.
    let expected = "r = X*w - y; 2*r'*X\n";
    let file = TempFile::new("least-squares.nabla", program);
    assert_eq!(
        success(&["diff", "--file", file.path(), "--wrt", "w"], None),
        expected
    );
    assert_eq!(
        success(&["diff", file.path(), "--wrt", "w"], None),
        expected
    );
    assert_eq!(
        success(&["diff", "--file", "-", "--wrt", "w"], Some(program)),
        expected
    );
    // Any file name with --file; a missing file is named.
    let other = TempFile::new("problem.txt", program);
    assert_eq!(
        success(&["diff", "--file", other.path(), "--wrt", "w"], None),
        expected
    );
    // Without --file, only a `.nabla` path is read; another one is an expression, and the
    // error says that it also names a file.
    let run = failure(&["diff", other.path(), "--wrt", "w"], None, 2);
    assert!(
        run.stderr.ends_with(&format!(
            "note: `{0}` was read as an expression, and it is also a file: to read the file, give `--file {0}`\n",
            other.path()
        )),
        "{run}"
    );
    for args in [
        &["diff", "--file", "/nonexistent/f.nabla", "--wrt", "w"][..],
        &["diff", "/nonexistent/f.nabla", "--wrt", "w"],
    ] {
        let run = failure(args, None, 2);
        assert!(
            run.stderr
                .starts_with("nabla: cannot read /nonexistent/f.nabla: "),
            "{run}"
        );
    }
}

#[test]
fn options_that_cannot_go_together_are_refused_with_the_reason() {
    let batch = "x\tx'*A*x\n";
    for (args, says) in [
        (
            &["hessian", QUADRATIC, "--wrt", "x", "--order", "1"][..],
            "`hessian` is the second derivative and --order 1 asks for the first",
        ),
        (
            &["diff", "x'*A*y", "--wrt", "x", "--wrt", "y", "--order", "1"],
            "two --wrt ask for a mixed second derivative",
        ),
        (
            &["diff", QUADRATIC, "--wrt", "x", "--wrt", "x", "--wrt", "x"],
            "--wrt names at most two variables",
        ),
        (
            &["diff", QUADRATIC, "--wrt", "x", "--steps", "--order", "2"],
            "--steps writes out first derivatives only",
        ),
        (
            &["hessian", QUADRATIC, "--wrt", "x", "--steps"],
            "--steps writes out first derivatives only",
        ),
        (
            &["diff", "x'*A*y", "--wrt", "x", "--wrt", "y", "--steps"],
            "--steps writes out first derivatives only",
        ),
        (
            &[
                "diff", QUADRATIC, "--wrt", "x", "--steps", "--format", "numpy",
            ],
            "--steps cannot go with --format numpy or torch",
        ),
        (
            &[
                "diff", QUADRATIC, "--wrt", "x", "--steps", "--format", "torch",
            ],
            "--steps cannot go with --format numpy or torch",
        ),
        (
            &["diff", "--batch", "-", "--steps"],
            "--steps cannot go with --batch",
        ),
        (
            &["diff", "--batch", "-", "--wrt", "x"],
            "--wrt cannot go with --batch: each line of the batch names its own variable",
        ),
        (
            &["diff", QUADRATIC, "--batch", "-"],
            "INPUT cannot go with --batch",
        ),
        (
            &["diff", "--file", "-", "--batch", "-"],
            "--file cannot go with --batch",
        ),
        (
            &["diff", QUADRATIC, "--file", "-", "--wrt", "x"],
            "INPUT and --file cannot go together",
        ),
        (
            &["diff", QUADRATIC, "--wrt", "x", "--seed", "3"],
            "--seed and --draws choose the random points of --check",
        ),
        (
            &["diff", QUADRATIC, "--wrt", "x", "--draws", "5"],
            "--seed and --draws choose the random points of --check",
        ),
        (
            &["diff", QUADRATIC],
            "no variable: name the variable to differentiate by with --wrt",
        ),
        (
            &["diff", "--wrt", "x"],
            "no input: give INPUT, --file FILE or --batch FILE",
        ),
    ] {
        let run = failure(args, Some(batch), 2);
        assert!(
            run.stderr.starts_with(&format!("nabla: {says}")),
            "{}\n{run}",
            command_line(args, None)
        );
        assert_eq!(run.stderr.lines().count(), 1, "one line: {run}");
    }
    // What does go together.
    success(&["hessian", QUADRATIC, "--wrt", "x", "--order", "2"], None);
    success(
        &["diff", "x'*A*y", "--wrt", "x", "--wrt", "y", "--order", "2"],
        None,
    );
    success(
        &[
            "diff",
            QUADRATIC,
            "--wrt",
            "x",
            "--layout",
            "denominator",
            "--format",
            "torch",
        ],
        None,
    );
}

/// The inline and display formulas of a LaTeX fragment: `$...$` spans and `\[...\]` blocks.
fn latex_formulas(latex: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, part) in latex.split("\\[").enumerate() {
        let (display, text) = match (i, part.split_once("\\]")) {
            (0, _) | (_, None) => (None, part),
            (_, Some((display, text))) => (Some(display), text),
        };
        out.extend(display.map(|d| d.trim().to_string()));
        out.extend(text.split('$').skip(1).step_by(2).map(String::from));
    }
    out
}

#[test]
fn steps_in_every_format_they_name() {
    let base = [
        "diff",
        "a = X*w; b = a - y; norm2(b)^2",
        "--wrt",
        "w",
        "--steps",
    ];
    let with = |format: &str| {
        let mut args = base.to_vec();
        args.extend(["--format", format]);
        let run = nabla(&args, None);
        assert_eq!(run.code, Some(0), "{run}");
        assert_eq!(run.stderr, "", "{run}");
        run.stdout
    };
    let text = with("text");
    assert_eq!(success_lines(&base), text);
    assert!(text.contains("by product-rule"), "{text}");
    let unicode = with("unicode");
    assert!(
        unicode.contains("(Xw - y)ᵀ") && !unicode.contains('\''),
        "{unicode}"
    );
    let latex = with("latex");
    assert!(
        latex.starts_with("\\paragraph{Intermediate quantities}"),
        "{latex}"
    );
    assert!(
        !latex.contains("**") && !latex.contains("$$"),
        "not Markdown:\n{latex}"
    );
    assert!(latex.contains("\\texttt{product-rule}"), "{latex}");
    let formulas = latex_formulas(&latex);
    assert!(formulas.len() >= 6, "{formulas:?}");
    assert!(
        formulas.iter().all(|f| !f.contains("\\paragraph")),
        "{formulas:?}"
    );
    let markdown = with("markdown");
    assert!(
        markdown.starts_with("**Intermediate quantities**"),
        "{markdown}"
    );
    let json: serde_json::Value = serde_json::from_str(&with("json")).expect("JSON");
    let steps = json.as_array().expect("an array of steps");
    let kinds: Vec<&str> = steps
        .iter()
        .map(|s| s["step"].as_str().expect("a kind"))
        .collect();
    assert_eq!(kinds.first(), Some(&"quantity"));
    assert_eq!(kinds.last(), Some(&"result"));
    for kind in [
        "differential",
        "substitution",
        "identification",
        "simplification",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let result = steps.last().unwrap();
    assert_eq!(result["text"], "2*(X*w - y)'*X");
    assert_eq!(result["name"], "df/dw");
    let differential = &steps[kinds.iter().position(|k| *k == "differential").unwrap()];
    assert_eq!(
        (differential["name"].as_str(), differential["rule"].as_str()),
        (Some("da"), Some("product-rule"))
    );
}

/// Standard output of a successful run that may print several lines.
fn success_lines(args: &[&str]) -> String {
    let run = nabla(args, None);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stderr, "", "{run}");
    run.stdout
}

#[test]
fn steps_with_check() {
    let args = ["diff", QUADRATIC, "--wrt", "x", "--steps", "--check"];
    let run = nabla(&args, None);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.starts_with("Intermediate quantities:"), "{run}");
    assert!(
        run.stderr.starts_with("check ok: 3 points compared"),
        "{run}"
    );
    let run = nabla(
        &[
            "diff", QUADRATIC, "--wrt", "x", "--steps", "--check", "--format", "json",
        ],
        None,
    );
    assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""), "{run}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let last = json.as_array().and_then(|s| s.last()).expect("steps");
    assert_eq!(
        (last["step"].as_str(), last["verdict"].as_str()),
        (Some("check"), Some("passed"))
    );
}

/// The input of a three-layer network: its derivative by W1 shares a subexpression, so it
/// prints over several lines (an `aligned` block in LaTeX, statements in NumPy).
const NETWORK: &str = "x: R^n; W1: R^(n x n); b1: R^n; W2: R^(n x n); b2: R^n; W3: R^(n x n); b3: R^n; sum(tanh(W3*tanh(W2*tanh(W1*x + b1) + b2) + b3))";

#[test]
fn batch_output_is_valid_per_line_in_every_format() {
    let input = format!("W1\t{NETWORK}\nx\tx'*A*x\n\n# a comment\nx\tx'*A*\n");
    let batch = |format: &str| {
        let run = nabla(&["diff", "--batch", "-", "--format", format], Some(&input));
        assert_eq!(run.code, Some(2), "{run}");
        run.stdout
    };
    for format in ["text", "unicode", "numpy", "torch", "latex"] {
        let out = batch(format);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{format}: one line per input line\n{out}");
        assert_eq!((lines[2], lines[3]), ("", ""), "{format}");
        assert!(
            lines[4].starts_with("error: syntax error"),
            "{format}: {out}"
        );
        let alone = nabla(&["diff", NETWORK, "--wrt", "W1", "--format", format], None).stdout;
        assert!(
            alone.contains("t1 = ") || alone.contains("t_{1} &= "),
            "{format}: {alone}"
        );
        if format == "latex" {
            // An aligned block stays one block: its rows end in `\\`, so a space joins them.
            assert_eq!(lines[0], alone.trim_end().replace('\n', " "));
            assert!(!lines[0].contains("; "), "{}", lines[0]);
            assert!(
                lines[0].starts_with("\\begin{aligned}") && lines[0].ends_with("\\end{aligned}")
            );
        } else {
            assert_eq!(lines[0], alone.trim_end().replace('\n', "; "), "{format}");
        }
    }
    // The text lines parse back as nabla input.
    let text = batch("text");
    let first = text.lines().next().unwrap();
    let declarations = NETWORK.rsplit_once("; ").unwrap().0;
    nabla::read(&format!("{declarations}; {first}")).expect("the batch line parses back");
    // Markdown: one block per problem, blank lines between; comments and blank lines give none.
    let markdown = batch("markdown");
    let blocks: Vec<&str> = markdown.trim_end().split("\n\n\n").collect();
    assert_eq!(markdown.matches("$$\n").count(), 4, "{markdown}");
    assert!(markdown.contains("\n\nerror: syntax error"), "{markdown}");
    assert!(blocks.len() <= 3, "{markdown}");
    // JSON lines.
    for line in batch("json").lines().filter(|l| !l.is_empty()) {
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }
}

#[test]
fn batch_numpy_lines_are_python() {
    let input = format!("W1\t{NETWORK}\nx\tx'*A*x\n");
    let run = nabla(&["diff", "--batch", "-", "--format", "numpy"], Some(&input));
    assert_eq!(run.code, Some(0), "{run}");
    let python = Command::new("python3")
        .args([
            "-c",
            "import ast, sys\nfor line in sys.stdin: ast.parse(line)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut python) = python else {
        panic!("python3 is needed to test the NumPy output (see the README)");
    };
    python
        .stdin
        .take()
        .unwrap()
        .write_all(run.stdout.as_bytes())
        .unwrap();
    let done = python.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}\n{}",
        run.stdout,
        String::from_utf8_lossy(&done.stderr)
    );
}

#[test]
fn batch_with_check() {
    let input = "x\tx'*A*x\nx\tsqrt(x - 3)\nx\tlog(-exp(x))\n";
    let run = nabla(&["diff", "--batch", "-", "--check"], Some(input));
    assert_eq!(run.code, Some(4), "no point for line 3: {run}");
    assert_eq!(run.stdout.lines().count(), 3, "{run}");
    let stderr: Vec<&str> = run.stderr.lines().collect();
    assert!(
        stderr[0].starts_with("nabla: line 1: check ok: 3 points compared"),
        "{run}"
    );
    assert!(
        stderr[1].starts_with("nabla: line 2: check ok: 3 points compared"),
        "{run}"
    );
    assert!(
        stderr[2].starts_with(
            "nabla: line 3: check inconclusive: could not find a point in the domain; try --draws"
        ),
        "{run}"
    );
    let run = nabla(
        &["diff", "--batch", "-", "--check", "--format", "json"],
        Some(input),
    );
    assert_eq!((run.code, run.stderr.as_str()), (Some(4), ""), "{run}");
    let verdicts: Vec<String> = (run.stdout.lines())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
        .map(|j| {
            j["check"]["verdict"]
                .as_str()
                .expect("a verdict")
                .to_string()
        })
        .collect();
    assert_eq!(verdicts, ["passed", "passed", "no_points"]);
    // Bad input is more serious than a check without points.
    let run = nabla(
        &["diff", "--batch", "-", "--check"],
        Some("x\tlog(-exp(x))\nx\tx'*\n"),
    );
    assert_eq!(run.code, Some(2), "{run}");
}

// ---- --check that says what it did (issue 10, item 4) ----

#[test]
fn check_finds_the_domain_of_a_shifted_square_root() {
    // Regression: `check FAILED: 0 random points` and exit 1 for a right answer.
    let run = nabla(
        &["diff", "x: R^n; sqrt(x - 3)", "--wrt", "x", "--check"],
        None,
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stderr
            .starts_with("check ok: 3 points compared (n=2), max relative error "),
        "{run}"
    );
    assert!(
        run.stderr
            .trim_end()
            .ends_with(" random points outside the domain"),
        "{run}"
    );
    // Undeclared, x is read as a vector, with a note before the check's line.
    let run = nabla(&["diff", "sqrt(x - 3)", "--wrt", "x", "--check"], None);
    assert!(
        run.stderr.starts_with("note: `x` is read as a vector"),
        "{run}"
    );
    assert!(
        run.stderr.contains("\ncheck ok: 3 points compared"),
        "{run}"
    );
    for input in [
        "sqrt(-3 - x)",
        "sqrt(x'*x - 40)",
        "log(1 - x'*x)",
        "log(1 - 100*x'*x)",
    ] {
        let run = nabla(&["diff", input, "--wrt", "x", "--check"], None);
        assert_eq!(run.code, Some(0), "{input}: {run}");
        let check = run.stderr.lines().find(|l| l.starts_with("check "));
        assert!(
            check.is_some_and(|l| l.starts_with("check ok: 3 points compared")),
            "{input}: {run}"
        );
    }
}

#[test]
fn check_without_a_point_in_the_domain_is_its_own_outcome() {
    let run = nabla(&["diff", "log(-exp(x))", "--wrt", "x", "--check"], None);
    assert_eq!(run.code, Some(4), "{run}");
    assert!(!run.stderr.contains("FAILED"), "{run}");
    assert!(
        run.stderr.starts_with("check inconclusive: could not find a point in the domain; try --draws or --seed; skipped "),
        "{run}"
    );
    let run = nabla(
        &[
            "diff",
            "log(-exp(x))",
            "--wrt",
            "x",
            "--check",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, Some(4), "{run}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["check"]["verdict"], "no_points");
    assert_eq!(json["check"]["points"], 0);
    assert!(
        json["check"]["skipped"]["outside_domain"].as_u64() > Some(0),
        "{json}"
    );
}

#[test]
fn check_reports_the_points_it_compared_in_json() {
    let run = nabla(
        &[
            "diff",
            "sqrt(x - 3)",
            "--wrt",
            "x",
            "--check",
            "--draws",
            "5",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{run}");
    let check = &serde_json::from_str::<serde_json::Value>(&run.stdout).expect("JSON")["check"];
    assert_eq!(
        (check["points"].as_u64(), check["requested"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(check["verdict"], "passed");
    assert!(
        check["skipped"]["outside_domain"].as_u64() > Some(0),
        "{check}"
    );
    assert_eq!(check["skipped"]["near_singularity"], 0);
    assert!(check["max_relative_error"].as_f64() < Some(1e-8), "{check}");
    assert!(
        check["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("check ok: 5 points compared"))
    );
}

// ---- Set-up (issue 10, item 6) ----

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = success_lines(&["completions", shell]);
        for word in [
            "nabla", "diff", "hessian", "--wrt", "--batch", "--file", "--steps",
        ] {
            assert!(out.contains(word), "{shell}: no {word}");
        }
    }
    let bash = success_lines(&["completions", "bash"]);
    let syntax = Command::new("bash")
        .args(["-n"])
        .stdin(Stdio::piped())
        .spawn();
    if let Ok(mut syntax) = syntax {
        syntax
            .stdin
            .take()
            .unwrap()
            .write_all(bash.as_bytes())
            .unwrap();
        assert!(
            syntax.wait().unwrap().success(),
            "the bash script is valid bash"
        );
    }
    let run = nabla(&["completions", "powershell"], None);
    assert_eq!(run.code, Some(2), "{run}");
}

#[test]
fn man_page_from_the_command_definition() {
    let page = success_lines(&["man"]);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "roff: {}",
        &page[..80.min(page.len())]
    );
    assert!(page.contains(".TH nabla 1"), "a man page of section 1");
    for subcommand in ["diff", "hessian", "rules", "completions", "man"] {
        assert!(
            page.contains(&format!("nabla\\-{subcommand}(1)")),
            "no {subcommand}"
        );
    }
    // Each subcommand's page, which the main page refers to, has its options.
    let diff = success_lines(&["man", "diff"]);
    assert!(diff.contains(".TH nabla-diff 1"), "{diff}");
    assert!(
        diff.contains("\\fBnabla diff\\fR"),
        "the synopsis names the command"
    );
    for flag in [
        "file", "wrt", "batch", "order", "format", "layout", "check", "steps", "seed", "draws",
    ] {
        assert!(
            diff.contains(&format!("\\-\\-{flag}")),
            "nabla man diff: no --{flag}"
        );
    }
    let run = failure(&["man", "integrate"], None, 2);
    assert!(
        run.stderr
            .starts_with("nabla: no page for `integrate`: the subcommands are diff, hessian"),
        "{run}"
    );
}

#[test]
fn help_documents_every_flag() {
    let help = success_lines(&["diff", "-h"]);
    for flag in [
        "--file", "--wrt", "--batch", "--order", "--format", "--layout", "--check", "--steps",
        "--seed", "--draws",
    ] {
        let line = help.lines().find(|l| l.trim_start().starts_with(flag));
        let documented = line.is_some_and(|l| l.trim_start().len() > flag.len() + 12);
        assert!(documented, "diff --help: {flag} is not documented\n{help}");
    }
    assert!(
        help.contains("4 --check found no point"),
        "the exit codes\n{help}"
    );
}
