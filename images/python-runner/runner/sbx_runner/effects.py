"""Works out keep / modify / insert / delete from a plugin's output, against its input.

The rule (docs/protocol.md):
1. An output entry that IS an input object (same identity, first occurrence) and still
   encodes exactly as that input did is kept. If the plugin mutated it in place (its
   encoding changed) it is a modify of that input. With snapshots (snapshot.py) taken
   before the plugin ran, an input whose mutable parts are untouched is known to encode
   as before without encoding it; only an input that fails that check is re-encoded.
2. Any other output entry is a modify of a not-yet-claimed input that is absent from the
   output by identity and has the same type, date, meta filename and meta lineno (the
   first such input, in input order); this is what `entry._replace(...)` produces. A
   copy whose encoding equals that input's is kept (the plugin changed nothing).
3. Everything else in the output is an insert; every unclaimed input is a delete.
"""
from itertools import compress
from operator import is_, not_

from .codec import encode_directive


def _slot_key(entry):
    meta = getattr(entry, 'meta', None)
    meta = meta if isinstance(meta, dict) else {}
    return (type(entry), getattr(entry, 'date', None), meta.get('filename'), meta.get('lineno'))


def compute_effects(inputs, input_json, outputs, snapshot=None):
    """Returns a list of ops: ('keep', i) | ('modify', i, json) | ('insert', json) | ('delete', i).

    `inputs` are the objects handed to the plugin (kept alive, so ids are unique),
    `input_json` their protocol JSON, `outputs` the plugin's final, sorted list, and
    `snapshot` (optional) a snapshot.Snapshot of `inputs` taken before the plugin ran.
    """
    untouched = snapshot.untouched() if snapshot is not None else None
    n = len(inputs)
    if len(outputs) == n and all(map(is_, outputs, inputs)):
        # the plugin returned its input list as it was: each output is its own input, in order
        if untouched is None:
            untouched = [False] * n
        return [('keep', i) if u else _same_object_op(i, e, input_json)
                for i, e, u in zip(range(n), outputs, untouched)]
    by_id = dict(zip(map(id, inputs), range(n)))
    claimed = [False] * n
    plan = []  # per output entry: the input it is (by identity, first occurrence), or None
    for e in outputs:
        i = by_id.get(id(e))
        if i is not None and not claimed[i]:
            claimed[i] = True
            plan.append(i)
        else:
            plan.append(None)

    # inputs gone by identity, grouped by slot, in input order
    free = {}
    for i in compress(range(n), map(not_, claimed)):
        free.setdefault(_slot_key(inputs[i]), []).append(i)

    ops = []
    append = ops.append
    for i, e in zip(plan, outputs):
        if i is not None:
            if untouched is not None and untouched[i]:
                append(('keep', i))
                continue
            append(_same_object_op(i, e, input_json))
            continue
        enc = encode_directive(e)
        slot = free.get(_slot_key(e))
        if slot:
            j = slot.pop(0)
            claimed[j] = True
            # a copy that changed nothing is no effect at all
            append(('keep', j) if enc == input_json[j] else ('modify', j, enc))
        else:
            append(('insert', enc))

    deletes = list(compress(range(n), map(not_, claimed)))
    return _place_deletes(ops, deletes) if deletes else ops


def _same_object_op(i, e, input_json):
    enc = encode_directive(e)
    return ('keep', i) if enc == input_json[i] else ('modify', i, enc)


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
