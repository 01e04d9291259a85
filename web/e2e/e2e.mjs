// The page as a person uses it, in headless Chromium: serves web/site on 127.0.0.1, types,
// changes layout and format, clicks, copies, breaks the input, traps the engine, shares a
// link, opens the identities, goes offline, and saves a screenshot to target/web-screenshot.png.
// Run `web/build.sh` first; `node web/e2e/e2e.mjs` (CHROMIUM=/path overrides the browser).

import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { extname, join, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const site = join(web, "site");
const screenshot = join(dirname(web), "target", "web-screenshot.png");
const TYPES = {
  ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm",
  ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
};

/** A static file server for the site on 127.0.0.1, on a free port. */
async function serve() {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    const file = join(site, path.endsWith("/") ? path + "index.html" : path);
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

let passed = 0;
const failures = [];

async function step(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}\n     ${String(e.stack || e).split("\n").slice(0, 4).join("\n     ")}`);
  }
}

function expect(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** The TeX source KaTeX rendered in `selector` (from its MathML annotation). */
async function renderedTex(page, selector) {
  return page.$$eval(`${selector} annotation[encoding="application/x-tex"]`, (nodes) =>
    nodes.map((n) => n.textContent));
}

/** Waits until the rendered equation ends with `= tex`. */
async function waitForEquation(page, tex) {
  try {
    await page.waitForFunction((tex) => {
      const annotation = document.querySelector('#equation annotation[encoding="application/x-tex"]');
      return annotation && annotation.textContent.trim().endsWith("= " + tex);
    }, tex, { timeout: 20000 });
  } catch (e) {
    const shown = await page.evaluate(() => [
      document.querySelector('#equation annotation[encoding="application/x-tex"]')?.textContent,
      document.getElementById("error").hidden ? "" : document.getElementById("error").textContent,
    ]);
    throw new Error(`the equation did not become "= ${tex}"; the page shows: ${JSON.stringify(shown)}`);
  }
}

const server = await serve();
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const context = await browser.newContext({ viewport: { width: 1100, height: 1300 } });
await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
const page = await context.newPage();
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));
page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
const clipboard = () => page.evaluate(() => navigator.clipboard.readText());

try {
  await page.goto(origin + "/");

  await step("the default problem renders with KaTeX", async () => {
    await waitForEquation(page, String.raw`x^\top \left(A + A^\top\right)`);
    const katex = await page.$$("#equation .katex-display");
    expect(katex.length > 0, true, "a KaTeX display block");
  });

  await step("the reading of the names is shown", async () => {
    const tex = await renderedTex(page, "#equation p");
    expect(tex.includes(String.raw`A \in \mathbb{R}^{n \times n}`), true, `the reading (${tex})`);
  });

  await step("typing an expression and a variable renders its derivative", async () => {
    await page.fill("#input", "norm2(X*w - y)^2");
    await page.fill("#wrt", "w");
    await waitForEquation(page, String.raw`2 \left(X w - y\right)^\top X`);
  });

  await step("the numeric check runs in the browser", async () => {
    const check = await page.textContent("#check");
    expect(/^check ok: 3 points compared/.test(check), true, `the check (${check})`);
  });

  await step("changing the layout", async () => {
    await page.selectOption("#layout", "denominator");
    await waitForEquation(page, String.raw`2 X^\top \left(X w - y\right)`);
  });

  await step("changing the format shows that form", async () => {
    await page.selectOption("#format", "numpy");
    expect(await page.textContent("#code"), "2 * X.T @ (X @ w - y)", "the NumPy code");
    await page.selectOption("#format", "text");
    expect(await page.textContent("#code"), "2*X'*(X*w - y)", "the text");
  });

  await step("copy buttons copy each form", async () => {
    const forms = {
      latex: String.raw`2 X^\top \left(X w - y\right)`,
      text: "2*X'*(X*w - y)",
      numpy: "2 * X.T @ (X @ w - y)",
      torch: "2 * X.T @ (X @ w - y)",
    };
    for (const [kind, form] of Object.entries(forms)) {
      await page.click(`[data-copy="${kind}"]`);
      await page.waitForFunction((k) => document.getElementById("copied").textContent.length > 0, kind);
      expect(await clipboard(), form, `the copied ${kind}`);
    }
  });

  await step("the steps are rendered", async () => {
    await page.click("#steps-box summary");
    const steps = await page.textContent("#steps");
    expect(steps.includes("norm2-squared"), true, "the rule names in the steps");
    expect((await page.$$("#steps .katex")).length > 3, true, "rendered math in the steps");
  });

  await step("the URL shares the problem", async () => {
    await page.click("#share");
    const link = await clipboard();
    expect(link, page.url(), "the copied link");
    const other = await context.newPage();
    await other.goto(link);
    await waitForEquation(other, String.raw`2 X^\top \left(X w - y\right)`);
    expect(await other.inputValue("#layout"), "denominator", "the shared layout");
    expect(await other.textContent("#code"), "2*X'*(X*w - y)", "the shared format");
    await other.close();
  });

  await step("an error is shown at its place in the input", async () => {
    await page.fill("#input", "x: R^n;\nx'*(A*x + b");
    await page.fill("#wrt", "x");
    await page.waitForSelector("#error:not([hidden])", { timeout: 20000 });
    const message = await page.textContent("#error-message");
    expect(message.startsWith("syntax error"), true, `the message (${message})`);
    expect(await page.textContent("#error-place"), "x'*(A*x + b \nline 2, column 12", "the place");
    expect(await page.isHidden("#result"), true, "no stale result");
  });

  await step("a shape error marks the operation", async () => {
    await page.fill("#input", "θ: R^(2 x 2); x: R^3; θ*x");
    await page.waitForFunction(() => document.querySelector("#error-place mark")?.textContent === "θ*x");
    expect(await page.getAttribute("#error", "data-kind"), "shape", "the kind");
  });

  await step("after a trap the engine is replaced and goes on", async () => {
    const answer = await page.evaluate(() => window.nablaEngine.request({ kind: "trap" }));
    expect(answer.error.kind, "trap", "the answer to a trap");
    await page.waitForFunction(() => document.getElementById("engine-status").dataset.state === "ready");
    expect(await page.evaluate(() => window.nablaEngine.restarts), 1, "restarts");
    await page.fill("#input", "tr(A*X*B)");
    await page.fill("#wrt", "X");
    await page.selectOption("#layout", "numerator");
    await waitForEquation(page, "B A");
  });

  await step("the identity table is a page", async () => {
    await page.click("#nav-rules");
    await page.waitForSelector("#rules table");
    const rows = await page.$$eval("#rules tr", (r) => r.length);
    expect(rows > 50, true, `rows of the table (${rows})`);
    const tex = await renderedTex(page, "#rules");
    expect(tex.some((t) => t.includes(String.raw`\mathrm{d}\left(U^\top\right)`)), true, "rendered identities");
    await page.click("#nav-derive");
    await waitForEquation(page, "B A");
  });

  await step("once loaded, the page works without the network", async () => {
    await context.setOffline(true);
    try {
      await page.fill("#input", "logdet(X)");
      await page.fill("#wrt", "X");
      await waitForEquation(page, "X^{-1}");
    } finally {
      await context.setOffline(false);
    }
  });

  await step("a screenshot", async () => {
    await page.fill("#input", "X: R^(m x n); y: R^m; sum(log(1 + exp(-y.*(X*w))))");
    await page.fill("#wrt", "w");
    await page.selectOption("#format", "numpy");
    await waitForEquation(page, String.raw`-\left(y \odot \sigma\left(-y \odot \left(X w\right)\right)\right)^\top X`);
    await page.evaluate(() => { document.getElementById("steps-box").open = true; });
    await mkdir(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: false });
  });

  await step("no errors in the console", async () => {
    expect(consoleErrors.length, 0, `console errors: ${consoleErrors.join("; ")}`);
  });
} finally {
  await browser.close();
  server.close();
}

console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
