// The one-way data path, as ranks: a module may import its own folder or a folder of a
// strictly lower rank, never one at its own rank or above. docs/architecture.md's folder
// table is checked against this list (test/unit/architecture.test.ts).
export const LAYERS: Readonly<Record<string, number>> = {
  cli: 100,
  batch: 90,
  pipeline: 80,
  run: 70,
  stages: 70,
  doctor: 70,
  blueprint: 60,
  validate: 60,
  policy: 55,
  protocol: 50,
  audit: 50,
  images: 50,
  manifest: 45,
  ledger: 45,
  engine: 10,
  // files directly under src/: errors, logger, labels, ids, safe-text
  '.': 0,
};
