// Validate glTF/GLB files with the Khronos glTF validator and print one JSON array of
// reports (one per file, in argument order) on stdout.
// Usage: node validate.mjs FILE...   (exit 0 whether or not a file has issues; exit 1 if a
// file cannot be read or the validator rejects its arguments)
import { readFile } from "node:fs/promises";
import path from "node:path";
import validator from "gltf-validator";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE...");
  process.exit(1);
}
const reports = [];
for (const file of files) {
  const bytes = new Uint8Array(await readFile(file));
  const dir = path.dirname(path.resolve(file));
  reports.push(await validator.validateBytes(bytes, {
    uri: path.basename(file),
    maxIssues: 0,            // report every issue
    writeTimestamp: false,
    externalResourceFunction: async (uri) =>
      new Uint8Array(await readFile(path.resolve(dir, decodeURIComponent(uri)))),
  }));
}
process.stdout.write(JSON.stringify(reports, null, 1) + "\n");
