"""Beancount's whole work on one ledger in one Python process, as the trusted session does it
but with no host: parse, book and the pre-plugin ops (load_stage), the ledger's plugins one
after another (transform.run_plugin, with the collector as the session runs them), the post
ops and validation (finalize_stage), and, with "print", the result printed as the session
prints it (parallel_print) to stdout. Nothing is sent to a host, validated there or audited.
With "checks", the session's own checks are done as well: each directive's JSON and the digest
of the loaded and the final list (what the audit records), and each plugin run as the session
runs it (session.run_builtin: its effects judged, its answer made and dropped); without, nothing
is encoded or checked.
Run by bench/session-floor.mjs as: python3 -I -S -B -c CODE LEDGER print|none checks|none
Prints one JSON line on stderr at the end: each phase's ms, the directives out, the errors.
"""
import gc
import importlib
import json
import sys
import time

sys.path.insert(0, '/opt/sandboxctl')
import runner  # noqa: E402  (sets sys.path as the image's entry point does)

runner.install_preload()
t = [time.perf_counter()]
from sbx_runner import load_stage, parallel_print  # noqa: E402
from sbx_runner.finalize_stage import finalize  # noqa: E402
from sbx_runner.transform import run_plugin  # noqa: E402

gc.disable()
t.append(time.perf_counter())
ledger, mode, checks = sys.argv[1], sys.argv[2], sys.argv[3] == 'checks'
entries, errors, options_map, _ = load_stage.parse(ledger)
t.append(time.perf_counter())
entries, errors = load_stage.book(entries, errors, options_map)
t.append(time.perf_counter())
if checks:
    import hashlib
    from sbx_runner import session
    from sbx_runner.codec import encode_directive
    from sbx_runner.options_codec import encode_options

    class Discard:
        """The channel run_builtin answers on: only the plugins' errors are counted."""

        def send(self, msg):
            if msg['type'] == 'error':
                errors.append(msg)

        def flush(self):
            pass

    def digest(encs):
        h = hashlib.sha256()
        for e in encs:
            h.update(json.dumps(e, ensure_ascii=False, separators=(',', ':'), allow_nan=False).encode('utf-8'))
            h.update(b'\n')
        return h.hexdigest()

    encs = list(map(encode_directive, entries))
    digest(encs)
    known = session.Known(entries, encs)
    options_json = encode_options(options_map)
    current = (entries, encs, None)
    t.append(time.perf_counter())
    for name, config in options_map['plugin']:
        req = {'name': name, 'module': name, 'config': config}
        (objs, out_encs), snap = session.run_builtin(Discard(), req, *current, known, options_json)
        current = (objs, out_encs, snap if objs is current[0] else None)
    entries, encs = current[0], current[1]
    digest(encs)
else:
    t.append(time.perf_counter())
    for name, config in options_map['plugin']:
        gc.freeze()
        gc.enable()
        try:
            entries, errs = run_plugin(lambda name=name: importlib.import_module(name), name, config, entries, options_map)
        finally:
            gc.disable()
        errors.extend(errs)
t.append(time.perf_counter())
printing = parallel_print.start(entries, options_map, False) if mode == 'print' else None
try:
    entries, errs = finalize(list(entries), options_map)
    errors.extend(errs)
    t.append(time.perf_counter())
    if printing is not None:
        out = sys.stdout.buffer
        out.write(printing.text(entries).encode('utf-8'))
        out.flush()
finally:
    if printing is not None:
        printing.close()
t.append(time.perf_counter())
ms = [round((b - a) * 1000) for a, b in zip(t, t[1:])]
phases = dict(zip(('import', 'parse', 'book', 'encode', 'plugins', 'finalize', 'print'), ms))
sys.stderr.write(json.dumps({'phases': phases, 'directives': len(entries), 'errors': len(errors)}) + '\n')
