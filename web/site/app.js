// The page: reads the problem from the form (and the URL), asks the engine in its worker, and
// shows the answer. Every derivative, form, check and error comes from the nabla library.

const $ = (id) => document.getElementById(id);

/** How long the engine may take before the page gives up on it and starts a new one. */
const TIMEOUT_MS = 20000;

/** The engine: a Web Worker running nabla compiled to WebAssembly, replaced after a trap or a
 * time-out. `request` answers the library's JSON, or an error of kind `trap` or `time`. */
class Engine {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.pending = new Map();
    this.nextId = 1;
    this.restarts = 0;
    this.start();
  }

  start() {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (e) => this.onStatus("failed", e.message || "the worker did not start");
  }

  receive(data) {
    if (data.ready) return this.onStatus("ready");
    if (data.failed) return this.onStatus("failed", data.failed);
    const waiting = this.pending.get(data.id);
    if (!waiting) return;
    this.pending.delete(data.id);
    clearTimeout(waiting.timer);
    if (data.trapped) {
      // A trap is a panic or the engine's own time limit: WebAssembly cannot unwind either.
      waiting.resolve(failure("trap", `the engine stopped (${data.trapped})`,
        "it ran past its time limit or into a bug, and was restarted: differentiate a part of a " +
        "large expression; otherwise please report the input"));
      this.restart("after a trap");
      return;
    }
    waiting.resolve(JSON.parse(data.answer));
  }

  request(message) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(failure("time", `no answer within ${TIMEOUT_MS / 1000} s`,
          "the engine was restarted; differentiate a smaller part of the expression"));
        this.restart("after a time-out");
      }, TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
      this.worker.postMessage({ ...message, id });
    });
  }

  restart(reason) {
    this.worker.terminate();
    for (const [, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.resolve(failure("restart", "the engine was restarted", ""));
    }
    this.pending.clear();
    this.restarts += 1;
    this.onStatus("restarted", reason);
    this.start();
  }
}

function failure(kind, message, hint) {
  return { ok: false, error: { kind, message, hint, place: null } };
}

const engine = new Engine((state, detail) => {
  const status = $("engine-status");
  status.classList.toggle("bad", state === "failed");
  status.textContent = {
    ready: "engine ready",
    failed: `the engine could not start: ${detail}`,
    restarted: `engine restarted ${detail}`,
  }[state];
  status.dataset.state = state;
  status.dataset.restarts = engine ? engine.restarts : 0;
});
window.nablaEngine = engine;

// --- Markdown with LaTeX: math is cut out before Markdown and rendered by KaTeX ---

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function renderMarkdown(markdown) {
  const math = [];
  const keep = (tex, display) => `@@MATH${math.push({ tex, display }) - 1}@@`;
  const text = markdown
    .replace(/\$\$([\s\S]+?)\$\$/g, (_, tex) => keep(tex, true))
    .replace(/\$([^$\n]+?)\$/g, (_, tex) => keep(tex, false));
  return marked.parse(text).replace(/@@MATH(\d+)@@/g, (_, i) =>
    katex.renderToString(math[i].tex, { displayMode: math[i].display, throwOnError: false }));
}

// --- The problem, the form and the URL ---

const FIELDS = ["input", "wrt", "layout", "order", "format"];

function problem() {
  return Object.fromEntries(FIELDS.map((f) => [f, $(f).value]));
}

function fromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const f of FIELDS) {
    if (params.has(f)) $(f).value = params.get(f);
  }
}

function toUrl() {
  const hash = "#" + new URLSearchParams(problem()).toString();
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

// --- The answer ---

let answer = null;
let latest = 0;

async function update() {
  toUrl();
  const ticket = ++latest;
  const p = problem();
  if (!p.input.trim() || !p.wrt.trim()) return;
  const result = await engine.request({
    kind: "derive", input: p.input, wrt: p.wrt, layout: p.layout, order: Number(p.order),
  });
  if (ticket !== latest) return; // a newer problem was asked meanwhile
  result.ok ? showAnswer(result) : showError(result.error, p.input);
}

function showAnswer(result) {
  answer = result;
  $("copied").textContent = "";
  $("error").hidden = true;
  $("result").hidden = false;
  $("equation").innerHTML = renderMarkdown(result.markdown);
  const check = result.derivative.check;
  $("check").textContent = result.check_text;
  $("check").className = "check " + (check && check.passed ? "ok" : "bad");
  showCode();
  $("steps-box").hidden = !result.steps;
  $("steps").innerHTML = result.steps ? renderMarkdown(result.steps) : "";
}

function showCode() {
  if (!answer) return;
  const format = $("format").value;
  $("code").textContent = {
    markdown: answer.markdown,
    json: JSON.stringify(answer.derivative, null, 2),
  }[format] ?? answer.derivative[format];
}

/** The error's message, the input line with its place marked, and what to do. */
function showError(error, input) {
  $("result").hidden = true;
  $("error").hidden = false;
  $("error").dataset.kind = error.kind;
  $("error-message").textContent = error.message;
  $("error-hint").textContent = error.hint || "";
  const place = $("error-place");
  if (!error.place) {
    place.hidden = true;
    return;
  }
  const { start, end, line, column } = error.place;
  const lineStart = input.lastIndexOf("\n", start - 1) + 1;
  const newline = input.indexOf("\n", start);
  const lineEnd = newline < 0 ? input.length : newline;
  const markEnd = Math.min(Math.max(end, start), lineEnd);
  place.hidden = false;
  place.innerHTML = `${escapeHtml(input.slice(lineStart, start))}` +
    `<mark>${escapeHtml(input.slice(start, markEnd)) || " "}</mark>` +
    `${escapeHtml(input.slice(markEnd, lineEnd))}\n` +
    `<small>line ${line}, column ${column}</small>`;
}

// --- Copying ---

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

const NAMES = { latex: "LaTeX", text: "text", numpy: "NumPy", torch: "PyTorch" };

for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    if (!answer) return;
    await copy(answer.derivative[button.dataset.copy]);
    $("copied").textContent = `copied ${NAMES[button.dataset.copy]}`;
  });
}

$("share").addEventListener("click", async () => {
  toUrl();
  await copy(location.href);
  $("copied").textContent = "copied the link";
});

// --- The two views ---

let rulesShown = false;

async function route() {
  const rules = location.hash === "#rules";
  $("derive-view").hidden = rules;
  $("rules-view").hidden = !rules;
  $("nav-rules").classList.toggle("current", rules);
  $("nav-derive").classList.toggle("current", !rules);
  if (rules && !rulesShown) {
    const result = await engine.request({ kind: "rules" });
    if (result.ok) {
      $("rules").innerHTML = renderMarkdown(result.markdown);
      rulesShown = true;
    }
  } else if (!rules) {
    fromUrl();
    update();
  }
}

$("nav-derive").addEventListener("click", (e) => {
  e.preventDefault();
  history.pushState(null, "", "#" + new URLSearchParams(problem()).toString());
  route();
});

// The problem is derived again shortly after the typing stops; the format only changes the
// form shown.
let typing;
for (const f of FIELDS.filter((f) => f !== "format")) {
  $(f).addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(update, 120);
  });
}
$("format").addEventListener("input", () => {
  showCode();
  toUrl();
});
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
