"""Works out keep / modify / insert / delete from a plugin's output, against its input.

The rule (docs/protocol.md):
1. An output entry that IS an input object (same identity, first occurrence) and still
   encodes exactly as that input did is kept. If the plugin mutated it in place (its
   encoding changed) it is a modify of that input.
2. Any other output entry is a modify of a not-yet-claimed input that is absent from the
   output by identity and has the same type, date, meta filename and meta lineno (the
   first such input, in input order); this is what `entry._replace(...)` produces. A
   copy whose encoding equals that input's is kept (the plugin changed nothing).
3. Everything else in the output is an insert; every unclaimed input is a delete.
"""
from .codec import encode_directive


def _slot_key(entry):
    meta = getattr(entry, 'meta', None)
    meta = meta if isinstance(meta, dict) else {}
    return (type(entry), getattr(entry, 'date', None), meta.get('filename'), meta.get('lineno'))


def compute_effects(inputs, input_json, outputs):
    """Returns a list of ops: ('keep', i) | ('modify', i, json) | ('insert', json) | ('delete', i).

    `inputs` are the objects handed to the plugin (kept alive, so ids are unique),
    `input_json` their protocol JSON, `outputs` the plugin's final, sorted list.
    """
    by_id = {id(e): i for i, e in enumerate(inputs)}
    claimed = [False] * len(inputs)
    plan = []  # per output entry: ['same', i] | ['new', entry]
    for e in outputs:
        i = by_id.get(id(e))
        if i is not None and not claimed[i]:
            claimed[i] = True
            plan.append(['same', i, e])
        else:
            plan.append(['new', None, e])

    # inputs gone by identity, grouped by slot, in input order
    free = {}
    for i, e in enumerate(inputs):
        if not claimed[i]:
            free.setdefault(_slot_key(e), []).append(i)

    ops = []
    for kind, i, e in plan:
        if kind == 'same':
            enc = encode_directive(e)
            ops.append(('keep', i) if enc == input_json[i] else ('modify', i, enc))
            continue
        enc = encode_directive(e)
        slot = free.get(_slot_key(e))
        if slot:
            j = slot.pop(0)
            claimed[j] = True
            # a copy that changed nothing is no effect at all
            ops.append(('keep', j) if enc == input_json[j] else ('modify', j, enc))
        else:
            ops.append(('insert', enc))

    deletes = [i for i, c in enumerate(claimed) if not c]
    return _place_deletes(ops, deletes)


def _place_deletes(ops, deletes):
    """Puts each delete just before the first op about a later input, so streams stay in input order."""
    out, d = [], 0
    for op in ops:
        if op[0] in ('keep', 'modify'):
            while d < len(deletes) and deletes[d] < op[1]:
                out.append(('delete', deletes[d]))
                d += 1
        out.append(op)
    out.extend(('delete', i) for i in deletes[d:])
    return out


def to_messages(ops):
    """Ops -> protocol messages, runs of consecutive keeps merged into ranges. Returns (msgs, counts)."""
    msgs = []
    counts = {'kept': 0, 'modified': 0, 'inserted': 0, 'deleted': 0, 'errors': 0}
    run = None  # [from, to)
    for op in ops:
        if op[0] == 'keep':
            counts['kept'] += 1
            if run and run[1] == op[1]:
                run[1] += 1
                continue
            if run:
                msgs.append({'type': 'keep', 'from': run[0], 'to': run[1]})
            run = [op[1], op[1] + 1]
            continue
        if run:
            msgs.append({'type': 'keep', 'from': run[0], 'to': run[1]})
            run = None
        if op[0] == 'modify':
            counts['modified'] += 1
            msgs.append({'type': 'modify', 'index': op[1], 'directive': op[2]})
        elif op[0] == 'insert':
            counts['inserted'] += 1
            msgs.append({'type': 'insert', 'directive': op[1]})
        else:
            counts['deleted'] += 1
            msgs.append({'type': 'delete', 'index': op[1]})
    if run:
        msgs.append({'type': 'keep', 'from': run[0], 'to': run[1]})
    return msgs, counts
