#!/usr/bin/env node
// The CLI runs from dist/bundle/ (made by `npm run build` after tsc: a few files instead of
// the ~300 modules dist/ and its packages load one by one). If dist/ was compiled again
// since (tsc alone), its modules are run instead: never an out-of-date bundle.
import { statSync } from 'node:fs';

const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = mtime('../dist/bundle/sandboxctl.js');
const { main } = await import(bundle >= 0 && bundle >= mtime('../dist/cli/index.js') ? '../dist/bundle/sandboxctl.js' : '../dist/cli/index.js');
main(process.argv).then((code) => { process.exitCode = code; });
