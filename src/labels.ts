// Every engine object sandboxctl makes carries these labels, so `gc` and the test
// suite can find (and remove) exactly what is ours, and nothing else.

export const LABEL_PREFIX = 'io.sandboxctl';
export const Labels = {
  managed: `${LABEL_PREFIX}.managed`,
  run: `${LABEL_PREFIX}.run`,
  kind: `${LABEL_PREFIX}.kind`,
  plugin: `${LABEL_PREFIX}.plugin`,
  inputsHash: `${LABEL_PREFIX}.inputs-hash`,
  image: `${LABEL_PREFIX}.image`,
  owner: `${LABEL_PREFIX}.owner-pid`,
} as const;

export type ObjectKind = 'plugin' | 'loader' | 'finalizer' | 'probe' | 'build' | 'test';

export function ourLabels(kind: ObjectKind, runId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [Labels.managed]: 'true',
    [Labels.kind]: kind,
    [Labels.run]: runId,
    [Labels.owner]: String(process.pid),
    ...extra,
  };
}
