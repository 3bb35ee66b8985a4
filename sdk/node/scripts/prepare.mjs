// `npm install ./sdk/node` (from another project) and `npm pack` run this: it builds dist/ with
// tsc, first installing the dev dependencies from the lock file when the folder has none (a fresh
// checkout installed as a dependency: npm runs a folder dependency's `prepare` without them).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function run(command, args) {
  const done = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (done.status !== 0) process.exit(done.status ?? 1);
}

if (!existsSync(new URL("../node_modules/typescript/bin/tsc", import.meta.url))) {
  run("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"]);
}
run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"]);
