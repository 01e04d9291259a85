#!/usr/bin/env bash
# Builds the web page into web/site/: the engine compiled to WebAssembly (site/pkg/) and KaTeX
# and marked copied from the locked npm install (site/vendor/). Then any static file server
# can serve web/site/, e.g. `python3 -m http.server -d web/site 8000`.
#
# Needs: the Rust target wasm32-unknown-unknown, wasm-bindgen-cli at the version of
# wasm-bindgen in Cargo.lock, and npm. Debian's binaryen wasm-opt breaks the module, so the
# .wasm is not run through wasm-opt.
set -euo pipefail
web="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$web")"
cd "$root"

wanted="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')"
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wanted" ]]; then
    echo "web/build.sh: needs wasm-bindgen $wanted: cargo install wasm-bindgen-cli --version $wanted" >&2
    exit 2
fi

cargo build --target wasm32-unknown-unknown --release -p nabla-web
wasm-bindgen --target web --no-typescript --out-dir web/site/pkg \
    target/wasm32-unknown-unknown/release/nabla_web.wasm

if [[ ! -d web/node_modules/katex || ! -d web/node_modules/marked ]]; then
    (cd web && npm ci --no-audit --no-fund)
fi
rm -rf web/site/vendor
mkdir -p web/site/vendor/katex web/site/vendor/marked
cp -r web/node_modules/katex/dist/katex.min.js web/node_modules/katex/dist/katex.min.css \
    web/node_modules/katex/dist/fonts web/site/vendor/katex/
cp web/node_modules/marked/lib/marked.umd.js web/site/vendor/marked/
echo "web/build.sh: built web/site ($(du -sh web/site | cut -f1)); serve it with: python3 -m http.server -d web/site 8000"
