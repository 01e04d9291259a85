// The engine in a Web Worker: the page stays responsive while it works, and a trap (a panic
// aborts in WebAssembly) or a time-out costs only this worker, which the page replaces.
import init, { derive, rules, trap } from "./pkg/nabla_web.js";

const ready = init();

self.onmessage = async ({ data }) => {
  await ready;
  try {
    let answer;
    if (data.kind === "derive") {
      answer = derive(data.input, data.wrt, data.layout, data.order);
    } else if (data.kind === "rules") {
      answer = JSON.stringify({ ok: true, markdown: rules() });
    } else if (data.kind === "trap") {
      trap();
    }
    self.postMessage({ id: data.id, answer });
  } catch (e) {
    // The module aborted; its memory cannot be trusted any more.
    self.postMessage({ id: data.id, trapped: String(e) });
  }
};

ready.then(
  () => self.postMessage({ ready: true }),
  (e) => self.postMessage({ failed: String(e) }),
);
