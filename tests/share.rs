//! Shared subexpressions: the derivative of a deep composition names its repeated parts once,
//! so the output grows linearly with depth, parses back and stays right.

mod common;
use nabla::check::CheckOptions;
use nabla::{Format, Options};

#[path = "../benches/workloads.rs"]
#[allow(dead_code)]
mod workloads;
use workloads::network;

#[test]
fn a_deep_network_prints_linear_size_output() {
    let size = |layers| {
        nabla::diff(&network(layers), "W1", &Options::default())
            .expect("differentiates")
            .text()
            .len()
    };
    let (eight, sixteen, thirty_two) = (size(8), size(16), size(32));
    assert!(
        sixteen < 2 * eight + 80 && thirty_two < 2 * sixteen + 80,
        "sizes {eight}, {sixteen}, {thirty_two}"
    );
}

#[test]
fn shared_output_parses_back_and_agrees_with_finite_differences() {
    for layers in [2, 3, 5] {
        let d = nabla::diff(&network(layers), "W1", &Options::default()).expect("differentiates");
        let text = d.text();
        if layers >= 3 {
            assert!(text.starts_with("t1 = "), "{text}");
        }
        let parsed =
            nabla::read(&format!("{}{text}", d.input.declarations())).expect("parses back");
        assert_eq!(parsed.expr, d.expr, "{text}");
        assert!(
            d.check(CheckOptions { draws: 2, seed: 5 }).passed(),
            "{text}"
        );
        let numpy = d.format(Format::Numpy);
        let assignments = numpy.lines().filter(|l| l.contains(" = ")).count();
        assert_eq!(assignments, numpy.lines().count() - 1, "{numpy}");
        let latex = d.format(Format::Latex);
        let opts = katex::Opts::builder()
            .throw_on_error(true)
            .build()
            .expect("options");
        katex::render_with_opts(&latex, &opts).unwrap_or_else(|e| panic!("{latex}: {e:?}"));
    }
}

#[test]
fn names_avoid_the_inputs_own() {
    let input = "t1: R^n; t2: R^n; W: R^(n x n); sum(tanh(W*tanh(W*tanh(W*t1 + t2) + t2) + t2))";
    let text = nabla::diff(input, "W", &Options::default())
        .expect("differentiates")
        .text();
    assert!(text.contains("t3 = ") && !text.contains("t1 = "), "{text}");
}

#[test]
fn the_answer_is_written_in_the_users_own_names() {
    let input = "h1 = tanh(W1*x); h2 = tanh(W2*h1); h3 = tanh(W3*h2); sum(h3)";
    let d = nabla::diff(input, "W1", &Options::default()).expect("differentiates");
    let text = d.text();
    assert_eq!(
        text,
        "h1 = tanh(W1*x); h2 = tanh(W2*h1); h3 = tanh(W3*h2); \
         x*((1 - h1.^2).*(W2'*((1 - h2.^2).*(W3'*(1 - h3.^2)))))'"
    );
    // It parses back to the same derivative, and it is right.
    let parsed = nabla::read(&format!("{}{text}", d.input.declarations())).expect("parses back");
    assert_eq!(parsed.expr, d.expr);
    assert!(d.check(CheckOptions { draws: 2, seed: 3 }).passed());
    let numpy = d.format(Format::Numpy);
    assert!(numpy.starts_with("h1 = np.tanh(W1 @ x)\nh2 = "), "{numpy}");
    common::renders(&d.format(Format::Latex)).expect("renders");
    // Only the definitions the answer uses are restated: a is not.
    let d = nabla::diff(
        "a = 2*x; r = A*x - y; r'*r + sum(a)",
        "x",
        &Options::default(),
    );
    assert_eq!(
        d.expect("differentiates").text(),
        "r = A*x - y; 2*(1 + r'*A)"
    );
}

#[test]
fn a_sum_holding_a_defined_sum_is_written_with_its_name() {
    // The residual block's input to the loss, z = x + W2*relu(W1*x), occurs in the gradient
    // reordered and with -y added: it is printed z - y, in the user's name, and reads back.
    let input = "x: R^n; y: R^n; z = x + W2*relu(W1*x); 1/2*norm2(z - y)^2";
    let d = nabla::diff(input, "x", &Options::default()).expect("differentiates");
    let text = d.text();
    assert!(text.starts_with("z = x + W2*relu(W1*x); "), "{text}");
    assert!(text.contains("(z - y)"), "{text}");
    let parsed = nabla::read(&format!("{}{text}", d.input.declarations())).expect("parses back");
    let x = egg::Symbol::from("x");
    let options = CheckOptions { draws: 2, seed: 5 };
    let report = nabla::check::check(&d.input, x, &parsed.expr, nabla::Layout::Numerator, options);
    assert!(report.passed(), "{text}: {report}");
    // A definition over an earlier one keeps both names (the layer norm's centring c and
    // scale s): sums are matched in the names already written.
    let input = "x: R^n; g: R^n; e: R; c = x - mean(x); s = sqrt(mean(c.^2) + e); g.*c/s";
    let text = (nabla::diff(input, "x", &Options::default()).expect("differentiates")).text();
    assert!(
        text.starts_with("c = x - mean(x); s = sqrt(mean(c.^2) + e); "),
        "{text}"
    );
    // Either sign: -(x + b) - y holds the defined sum negated.
    let d = nabla::diff(
        "x: R^n; s = x + b; sum(-x - b - c.*x)",
        "x",
        &Options::default(),
    )
    .expect("differentiates");
    assert!(
        d.check(CheckOptions { draws: 2, seed: 5 }).passed(),
        "{}",
        d.text()
    );
}
