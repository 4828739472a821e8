// keep / modify / insert / delete from a plugin's output, by object identity (docs/protocol.md):
// the same object with the same JSON is kept; the same object changed in place is a modify;
// a new object takes the slot (type, date, meta filename, meta lineno) of an input that is
// gone from the output (a modify, or a keep if its JSON is unchanged); anything else is an
// insert; inputs left unclaimed are deletes.

const slotKey = (d) =>
  JSON.stringify([d?.type ?? null, d?.date ?? null, d?.meta?.filename ?? null, d?.meta?.lineno ?? null]);

export function computeEffects(inputs, inputJson, outputs) {
  const byObj = new Map(inputs.map((d, i) => [d, i]));
  const claimed = new Array(inputs.length).fill(false);
  const plan = outputs.map((d) => {
    const i = byObj.get(d);
    if (i !== undefined && !claimed[i]) {
      claimed[i] = true;
      return { same: true, i, d };
    }
    return { same: false, d };
  });
  const free = new Map();
  inputs.forEach((d, i) => {
    if (claimed[i]) return;
    const k = slotKey(d);
    if (!free.has(k)) free.set(k, []);
    free.get(k).push(i);
  });
  const ops = [];
  for (const p of plan) {
    const json = JSON.stringify(p.d);
    if (p.same) {
      ops.push(json === inputJson[p.i] ? { op: 'keep', i: p.i } : { op: 'modify', i: p.i, json });
      continue;
    }
    const slot = free.get(slotKey(p.d));
    if (slot && slot.length > 0) {
      const j = slot.shift();
      claimed[j] = true;
      ops.push(json === inputJson[j] ? { op: 'keep', i: j } : { op: 'modify', i: j, json });
    } else {
      ops.push({ op: 'insert', json });
    }
  }
  const deletes = [];
  claimed.forEach((c, i) => c || deletes.push(i));
  // each delete goes just before the first op about a later input
  const out = [];
  let k = 0;
  for (const o of ops) {
    if (o.op !== 'insert') while (k < deletes.length && deletes[k] < o.i) out.push({ op: 'delete', i: deletes[k++] });
    out.push(o);
  }
  while (k < deletes.length) out.push({ op: 'delete', i: deletes[k++] });
  return out;
}

/** Ops -> protocol lines (JSON text), consecutive keeps merged into ranges. */
export function toLines(ops) {
  const lines = [];
  const counts = { kept: 0, modified: 0, inserted: 0, deleted: 0, errors: 0 };
  let run = null;
  const flush = () => {
    if (run) lines.push(JSON.stringify({ type: 'keep', from: run[0], to: run[1] }));
    run = null;
  };
  for (const o of ops) {
    if (o.op === 'keep') {
      counts.kept++;
      if (run && run[1] === o.i) run[1]++;
      else {
        flush();
        run = [o.i, o.i + 1];
      }
      continue;
    }
    flush();
    if (o.op === 'modify') {
      counts.modified++;
      lines.push(`{"type":"modify","index":${o.i},"directive":${o.json}}`);
    } else if (o.op === 'insert') {
      counts.inserted++;
      lines.push(`{"type":"insert","directive":${o.json}}`);
    } else {
      counts.deleted++;
      lines.push(JSON.stringify({ type: 'delete', index: o.i }));
    }
  }
  flush();
  return { lines, counts };
}

// Beancount's data.entry_sortkey: (date, type order, lineno); Array.prototype.sort is stable.
const SORT_ORDER = { Open: -2, Balance: -1, Document: 1, Close: 2 };
export function sortDirectives(list) {
  const key = (d) => [String(d.date), SORT_ORDER[d.type] ?? 0, Number(d.meta?.lineno ?? 0)];
  return list.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    for (let n = 0; n < 3; n++) if (x[n] !== y[n]) return x[n] < y[n] ? -1 : 1;
    return 0;
  });
}
