// The body of a trusted session's finalize request (docs/protocol.md, `load --session`):
// what the loader sent travels back by reference, a run of it in the loader's order as
// one line; everything a plugin made or changed travels in full, already validated.
// Python runners given the loader's pickle are sent the same lines (src/run/loaded-input.ts).
export { referenceLines as finalizeLines } from '../protocol/loaded-message.js';
