// Builds the browser SDK into chalicelib/static/sdk/ (committed: the Lambda package ships it).
//   node build.mjs          write the files
//   node build.mjs --check  build into a temporary folder and fail if the committed files differ
// One table of entries: each is built only once its source exists (the widget and the React
// bindings are written beside the client), so the build works at every step.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = resolve(HERE, "../../chalicelib/static/sdk");
const CLIENT_MODULE = "./pulse-client.js";

// The React bindings import the client at runtime from the file served beside them, so one page
// loading both gets one client module (and one set of rooms), not two copies.
const clientExternal = {
  name: "client-external",
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/(\.\.\/)?client(\/|$)/ }, () => ({ path: CLIENT_MODULE, external: true }));
  },
};

const ENTRIES = [
  {
    sources: ["src/client/index.ts"],
    js: "pulse-client.js",
    dts: "pulse-client.d.ts",
    format: "esm",
    banner: "/*! Pulse headless client (ES module). Built from sdk/browser/src/client; do not edit. */",
  },
  {
    sources: ["src/widget/index.ts", "src/widget/index.js"],
    js: "pulse.js",
    format: "iife",
    // The header a reader of /sdk/pulse.js sees first: usage, attributes, events, statuses.
    bannerFile: "src/widget/banner.txt",
  },
  {
    sources: ["src/react/index.ts", "src/react/index.tsx"],
    js: "pulse-react.js",
    dts: "pulse-react.d.ts",
    format: "esm",
    external: ["react"],
    plugins: [clientExternal],
    banner: "/*! Pulse React bindings (ES module). Built from sdk/browser/src/react; do not edit. */",
  },
];

function present(entry) {
  return entry.sources.find((source) => existsSync(join(HERE, source))) ?? null;
}

async function buildJs(entry, source, outDir) {
  await esbuild.build({
    entryPoints: [join(HERE, source)],
    outfile: join(outDir, entry.js),
    bundle: true,
    format: entry.format,
    target: "es2020",
    platform: "browser",
    charset: "utf8",
    legalComments: "inline",
    external: entry.external ?? [],
    plugins: entry.plugins ?? [],
    banner: { js: entry.bannerFile ? readFileSync(join(HERE, entry.bannerFile), "utf8").trimEnd() : entry.banner },
    logLevel: "warning",
  });
}

/** The declarations of one entry as one file: its index.d.ts with `export * from "./x.js"`
 * replaced by x.d.ts and the imports of the inlined modules dropped; an import of the client
 * from another entry points at the served pulse-client.js. Any other relative import fails. */
function bundleDts(declDir, source) {
  const entryFile = join(declDir, source.replace(/^src\//, "").replace(/\.tsx?$|\.js$/, ".d.ts"));
  const inlined = new Set();
  const relative = /^(import|export)\s+(type\s+)?(\*|\{[^}]*\})\s+from\s+["'](\.[^"']+)["'];\s*$/;
  const expand = (file) => {
    const base = dirname(file);
    const out = [];
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const m = relative.exec(line);
      if (!m) {
        if (!/^\/\/# sourceMappingURL/.test(line)) out.push(line);
        continue;
      }
      const target = m[4];
      if (/^\.\.\/client(\/|$)/.test(target)) {
        out.push(line.replace(target, CLIENT_MODULE));
        continue;
      }
      const path = resolve(base, target.replace(/\.js$/, ".d.ts"));
      if (!existsSync(path)) throw new Error(`${file}: cannot inline ${target}`);
      if (m[1] === "export" && m[3] !== "*") {
        throw new Error(`${file}: use export * from "${target}" (one module of public types)`);
      }
      if (!inlined.has(path)) {
        inlined.add(path);
        out.push(...expand(path));
      }
    }
    return out;
  };
  const lines = expand(entryFile);
  return lines.join("\n").replace(/\n{3,}/g, "\n\n").trim() + "\n";
}

async function buildAll(outDir) {
  const written = [];
  const declDir = mkdtempSync(join(tmpdir(), "pulse-dts-"));
  try {
    const tsc = join(HERE, "node_modules", "typescript", "bin", "tsc");
    execFileSync(process.execPath, [tsc, "-p", join(HERE, "tsconfig.build.json"), "--outDir", declDir], {
      stdio: "inherit",
    });
    for (const entry of ENTRIES) {
      const source = present(entry);
      if (!source) continue;
      await buildJs(entry, source, outDir);
      written.push(entry.js);
      if (entry.dts) {
        const header = `// Types of ${entry.js}. Built from sdk/browser/${source}; do not edit.\n`;
        writeFileSync(join(outDir, entry.dts), header + bundleDts(declDir, source));
        written.push(entry.dts);
      }
    }
  } finally {
    rmSync(declDir, { recursive: true, force: true });
  }
  return written;
}

const check = process.argv.includes("--check");
if (check) {
  const temp = mkdtempSync(join(tmpdir(), "pulse-sdk-"));
  try {
    const files = await buildAll(temp);
    const stale = files.filter((name) => {
      const committed = join(OUT, name);
      return !existsSync(committed) || readFileSync(committed, "utf8") !== readFileSync(join(temp, name), "utf8");
    });
    if (stale.length) {
      console.error(`Stale build in chalicelib/static/sdk: ${stale.join(", ")}. Run: npm run build (in sdk/browser)`);
      process.exit(1);
    }
    console.log(`build is current: ${files.join(", ")}`);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
} else {
  mkdirSync(OUT, { recursive: true });
  const files = await buildAll(OUT);
  console.log(`wrote ${files.map((f) => join("chalicelib/static/sdk", f)).join(", ")}`);
}
