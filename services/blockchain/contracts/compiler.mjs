// The compiler settings and import resolution shared by build.mjs and the
// forge shim, so the artifacts the service uses and the contracts forge
// tests are compiled the same way.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../../..");

// Polygon PoS and Base both run Cancun; pinned so that a compiler upgrade
// never silently emits opcodes the production chains lack.
export const settings = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
};

// Resolves an import as solc's CLI would with `@openzeppelin/=node_modules/@openzeppelin/`
// and the given base directories.
export function findImport(path, bases) {
  const candidates = [];
  if (path.startsWith("@")) candidates.push(join(repoRoot, "node_modules", path));
  for (const base of bases) candidates.push(resolve(base, path));
  for (const candidate of candidates) {
    if (existsSync(candidate)) return { contents: readFileSync(candidate, "utf8") };
  }
  return { error: `not found: ${path}` };
}
