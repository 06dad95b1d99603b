#!/usr/bin/env node
// A `solc` command line for forge, backed by the pinned solc-js: forge on its
// own would download a native solc, which these machines cannot. Point forge
// at it with FOUNDRY_SOLC. Speaks the two things forge asks of solc:
// `--version`, and `--standard-json` with the input on stdin.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { repoRoot, findImport } from "./compiler.mjs";

const require = createRequire(import.meta.url);
const solc = require(join(repoRoot, "node_modules/solc"));
const args = process.argv.slice(2);

if (args.includes("--version")) {
  const version = solc.version().replace("Emscripten.clang", "Linux.g++");
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`);
  process.exit(0);
}

if (!args.includes("--standard-json")) {
  process.stderr.write("solc-shim: only --version and --standard-json are supported\n");
  process.exit(2);
}

// Directories the CLI would search: --base-path, --include-path, then cwd.
const bases = [];
for (let i = 0; i < args.length; i += 1) {
  if ((args[i] === "--base-path" || args[i] === "--include-path") && args[i + 1]) bases.push(args[i + 1]);
}
bases.push(process.cwd());

const input = readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: (p) => findImport(p, bases) }));
