#!/usr/bin/env node
// Compiles the contracts in src/ with the pinned solc-js and writes one
// artifact per contract to artifacts/ (ABI + creation and runtime bytecode).
// The service embeds those artifacts, so they are committed; `--check`
// recompiles and fails if they differ from what is committed, which is
// what CI runs.
//
//   node build.mjs          write artifacts/
//   node build.mjs --check  compare, exit 1 on any difference
import { readFileSync, writeFileSync, readdirSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const require = createRequire(import.meta.url);
const solc = require(join(repoRoot, "node_modules/solc"));
import { settings, findImport } from "./compiler.mjs";

const check = process.argv.includes("--check");
const srcDir = join(here, "src");
const outDir = join(here, "artifacts");

const sources = {};
for (const file of readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[`src/${file}`] = { content: readFileSync(join(srcDir, file), "utf8") };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    ...settings,
    outputSelection: Object.fromEntries(
      Object.keys(sources).map((s) => [s, { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] }]),
    ),
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: (p) => findImport(p, [here]) }));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of output.errors ?? []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

if (!existsSync(outDir)) mkdirSync(outDir);
let differ = 0;
for (const [source, contracts] of Object.entries(output.contracts ?? {})) {
  if (!(source in sources)) continue;
  for (const [name, c] of Object.entries(contracts)) {
    const artifact = {
      contractName: name,
      sourceName: source,
      compiler: { version: solc.version(), ...settings },
      abi: c.abi,
      bytecode: { object: `0x${c.evm.bytecode.object}` },
      deployedBytecode: { object: `0x${c.evm.deployedBytecode.object}` },
    };
    const text = `${JSON.stringify(artifact, null, 2)}\n`;
    const path = join(outDir, `${name}.json`);
    if (check) {
      const committed = existsSync(path) ? readFileSync(path, "utf8") : "";
      if (committed !== text) {
        console.error(`artifacts/${name}.json differs from a fresh compile of ${source}; run: node services/blockchain/contracts/build.mjs`);
        differ += 1;
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote artifacts/${name}.json`);
    }
  }
}
if (check) {
  if (differ > 0) process.exit(1);
  console.log(`contract artifacts match solc ${solc.version()}`);
}
