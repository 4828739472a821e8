"""The rest of a trusted loader session: after the loader's "done", the host may ask the
session to run Beancount's own builtin plugins in this process (when the admin's profile
runs builtins in the session), then sends the chain's result as references into what the
session holds plus the directives plugins in containers made or changed; the session runs
Beancount's post-plugin ops and validation on it (finalize_stage) and, when asked, prints
it (print_stage). Nothing the session made is decoded again.

What the session holds ("known"), by index: the loader's directives (0..N-1), then each
directive an in-session plugin modified or inserted, in the order its answer reported
them. The host numbers them the same way from the answers it reads.

Host -> session (stdin), requests in any order until end of input:
  {"type":"run", "name":s, "module":s, "config":s|null, "error_only":bool, "input":"current"}
      runs one builtin on the session's current list: the loader's directives at first,
      then the output of the last in-session plugin that may change directives
  {"type":"run", ..., "count":N} + N directives + {"type":"end"}
      the same on the list the host sends (after a plugin that ran in its own container)
  {"type":"finalize", "count":N, "print":bool, "display_context":bool} + N directives + end
where each directive is one of
  {"type":"refs", "index":k, "from":i, "count":n}  k..k+n-1 are known i..i+n-1
  {"type":"directive", "index":k, "directive":D}    any other directive (protocol v1 JSON)

Session -> host: for a run, {"type":"started"}, then what a plugin in its own container
sends (keep, modify, insert, delete, error, done), then {"type":"finished", "ms":t,
"cpu_ms":c}. For finalize, the same messages with each error's "kind", then, when
printing, {"type":"text","text":s}... and {"type":"end"}.
"""
import gc
import importlib
import json
import time
from operator import is_

from .channel import ProtocolError
from .codec import decode_directive
from .effects import compute_effects, to_messages
from .errors import error_message
from .finalize_stage import finalize, send_answer
from .options_codec import decode_options
from .snapshot import Snapshot
from .transform import run_plugin

TEXT_CHUNK = 1 << 20
# only Beancount's own plugins, from the package installed in this image, run here
BUILTIN_PREFIX = 'beancount.plugins.'


class Known:
    """Every directive the host can name by index, with the JSON it was last known by."""

    def __init__(self, entries, encoded):
        self.entries = list(entries)
        self.json = list(encoded)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def read_list(lines, count, known, what):
    """Reads `count` directives (refs or in full) up to "end": ([objects], [their JSON])."""
    if not _is_int(count) or count < 0:
        raise ProtocolError('{}: "count" must be a non-negative integer'.format(what))
    objs, encs = [], []
    for n, msg in lines:
        if msg['type'] == 'end':
            if len(objs) != count:
                raise ProtocolError('line {}: end after {} directives, expected {}'.format(n, len(objs), count))
            return objs, encs
        if msg['type'] not in ('directive', 'refs') or msg.get('index') != len(objs):
            raise ProtocolError('line {}: expected directive {}'.format(n, len(objs)))
        if msg['type'] == 'refs':
            start, run = msg.get('from'), msg.get('count')
            if not (_is_int(start) and _is_int(run) and run > 0 and 0 <= start
                    and start + run <= len(known.entries)):
                raise ProtocolError('line {}: refs {!r}+{!r} are not known directives'.format(n, start, run))
            if len(objs) + run > count:
                raise ProtocolError('line {}: more than the {} directives announced'.format(n, count))
            objs.extend(known.entries[start:start + run])
            encs.extend(known.json[start:start + run])
        else:
            objs.append(decode_directive(msg['directive']))
            encs.append(msg['directive'])
    raise ProtocolError('input ended inside the {} request'.format(what))


class _Unchanged:
    """Beancount's post ops replace what they change and never edit an entry in place, so
    an output that is an input object is that input, unchanged: no snapshot is needed."""

    def __init__(self, count):
        self._count = count

    def untouched(self):
        return [True] * self._count


def _canonical(ops, inputs, encs, outputs, known):
    """The output as the host will hold it: a kept input stays that input; a modified or
    inserted directive is replaced by a fresh decoding of the JSON the host was sent (what
    a plugin in a container would be given next) and becomes known. Returns (objs, encs)."""
    objs, out_encs = [], []
    k = 0
    for op in ops:
        if op[0] == 'delete':
            continue
        if op[0] == 'keep':
            objs.append(inputs[op[1]])
            out_encs.append(encs[op[1]])
        else:
            enc = json.loads(json.dumps(op[-1], ensure_ascii=False, allow_nan=False))
            obj = decode_directive(enc)
            known.entries.append(obj)
            known.json.append(enc)
            objs.append(obj)
            out_encs.append(enc)
        k += 1
    if k != len(outputs):
        raise AssertionError('effects accounted for {} outputs of {}'.format(k, len(outputs)))
    return objs, out_encs


class _Known:
    """A snapshot's verdict, taken once: compute_effects asks for it again."""

    def __init__(self, untouched):
        self._untouched = untouched

    def untouched(self):
        return self._untouched


def run_builtin(channel, req, inputs, encs, snapshot, known, options_json):
    """Runs one builtin on `inputs` and answers as its own container would. `snapshot` is
    one of `inputs` still valid, or None. Returns the canonical output (objects, JSON) and a
    snapshot valid for the inputs afterwards (None when one of them changed)."""
    name, module = req.get('name'), req.get('module')
    if not (isinstance(module, str) and module.startswith(BUILTIN_PREFIX) and isinstance(name, str) and name):
        raise ProtocolError('run: {!r} is not a Beancount builtin plugin module'.format(module))
    config = req.get('config')
    if config is not None and not isinstance(config, str):
        raise ProtocolError('run: "config" must be a string or null')
    channel.send({'type': 'started'})
    channel.flush()
    t0, c0 = time.perf_counter(), time.process_time()
    if snapshot is None:
        snapshot = Snapshot(inputs)
    options_map = decode_options(options_json)  # a fresh map, as each container gets
    gc.freeze()
    gc.enable()  # the plugin runs with Python's usual collector, as in Beancount
    try:
        outputs, errors = run_plugin(lambda: importlib.import_module(module), name, config,
                                     list(inputs), options_map)
    finally:
        gc.disable()
    untouched = snapshot.untouched()
    intact = all(untouched)
    n = len(inputs)
    if intact and len(outputs) == n and all(map(is_, outputs, inputs)):
        # the plugin returned its input as it was (every error-only plugin that keeps its grant)
        msgs = [{'type': 'keep', 'from': 0, 'to': n}] if n else []
        counts = {'kept': n, 'modified': 0, 'inserted': 0, 'deleted': 0, 'errors': 0}
        out = (inputs, encs)
    else:
        ops = compute_effects(inputs, encs, outputs, _Known(untouched))
        msgs, counts = to_messages(ops)
        out = None
    for m in msgs:
        channel.send(m)
    if errors:
        by_id = {id(e): i for i, e in enumerate(inputs)}
        for err in errors:
            channel.send(error_message(err, lambda e: by_id.get(id(e))))
            counts['errors'] += 1
    channel.send({'type': 'done', 'counts': counts})
    if out is None:
        out = _canonical(ops, inputs, encs, outputs, known)
    channel.send({'type': 'finished', 'ms': round((time.perf_counter() - t0) * 1000, 3),
                  'cpu_ms': round((time.process_time() - c0) * 1000, 3)})
    channel.flush()
    return out, (snapshot if intact else None)


def finalize_request(channel, req, lines, known, options_map):
    from . import parallel_print
    inputs, encs = read_list(lines, req.get('count'), known, 'finalize')
    # the print starts now, in worker processes while finalize runs, when that pays (parallel_print.py)
    printing = parallel_print.start(inputs, options_map, req.get('display_context')) if req.get('print') else None
    try:
        outputs, errors = finalize(list(inputs), options_map)
        send_answer(channel, compute_effects(inputs, encs, outputs, _Unchanged(len(inputs))), inputs, errors)
        if printing is not None:
            channel.flush()  # the host reads the answer while the text is gathered
            text = printing.text(outputs)
            for k in range(0, len(text), TEXT_CHUNK):
                channel.send({'type': 'text', 'text': text[k:k + TEXT_CHUNK]})
            channel.send({'type': 'end'})
    finally:
        if printing is not None:
            printing.close()
    channel.flush()


def serve(channel, loaded, encoded, options_map, options_json, lines):
    """Answers the host's requests (`lines`: the rest of stdin, as read_lines reads it) until its end of input."""
    known = Known(loaded, encoded)
    # the session's current list, its JSON, and a snapshot of it still valid (or None)
    current = (known.entries[:len(loaded)], known.json[:len(loaded)], None)
    for n, req in lines:
        if req['type'] == 'run':
            if req.get('input') == 'current':
                inputs, encs, snapshot = current
            else:
                inputs, encs = read_list(lines, req.get('count'), known, 'run')
                snapshot = None
            (objs, out_encs), snapshot = run_builtin(channel, req, inputs, encs, snapshot, known, options_json)
            # an error-only plugin's output is its input, as the host keeps it
            if req.get('error_only'):
                current = (inputs, encs, snapshot)
            else:
                current = (objs, out_encs, snapshot if objs is inputs else None)
        elif req['type'] == 'finalize':
            finalize_request(channel, req, lines, known, options_map)
        else:
            raise ProtocolError('line {}: expected "run" or "finalize", found type {!r}'.format(n, req['type']))
