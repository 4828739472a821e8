"""The plugin stage: protocol v1 in on stdin, results out on the private stdout copy."""
import gc
import sys

from .channel import read_input
from .codec import decode_directive
from .effects import compute_effects, to_messages
from .errors import error_message
from . import lazy_submodules
from .loaded import LoadedInput, assemble
from .options_codec import decode_options
from .snapshot import Snapshot, decode_with_snapshot
from .transform import load_module, run_plugin


class _Preloaded:
    """Imports the plugin before the input arrives (overlapping the host's sending), keeping
    the outcome, so that run_plugin sees the import exactly as it would have at its turn."""

    def __init__(self, load):
        self._module, self._exc = None, None
        try:
            self._module = load()
        except BaseException as exc:  # replayed at the plugin's turn, like an import there
            self._exc = exc

    def __call__(self):
        if self._exc is not None:
            raise self._exc
        return self._module


def main(channel, args):
    # Beancount's submodules, imported in-process before any plugin runs, come on first use
    lazy_submodules.install()

    def load_for(name):
        if args.entrypoint:
            return lambda: load_module(name, args.bundle, args.entrypoint)
        return lambda: load_module(name)

    # the module name must be known to import early: --module, or --name with --entrypoint
    early_name = args.module or args.name
    preloaded = _Preloaded(load_for(early_name)) if early_name else None

    # cyclic GC over tens of thousands of fresh objects costs more than the decoding itself
    gc.disable()
    header, items, loaded = read_input(sys.stdin.buffer, LoadedInput)
    plugin = header.get('plugin') or {}
    name = early_name or plugin.get('name')
    if not isinstance(name, str) or not name:
        raise ValueError('no plugin name: give --module, --name, or a header plugin.name')
    config = header.get('config')
    options_map = decode_options(header.get('options') or {})
    # with what each input's encoding depends on, so untouched inputs need no re-encoding after
    if loaded is None:
        directives_json = items
        inputs, snapshot = decode_with_snapshot(directives_json, decode_directive)
    else:
        # the loader's directives unpickled, the rest decoded; JSON of a loaded one only if asked
        inputs, directives_json = assemble(items, loaded)
        snapshot = Snapshot(inputs)
    gc.freeze()
    gc.enable()  # the plugin runs with Python's usual collector, as in Beancount

    # the plugin gets its own list: in-place edits of it must not touch `inputs`
    outputs, errors = run_plugin(preloaded or load_for(name), name, config, list(inputs), options_map)

    gc.disable()
    ops = compute_effects(inputs, directives_json, outputs, snapshot)
    msgs, counts = to_messages(ops)
    for m in msgs:
        channel.send(m)
    by_id = {id(e): i for i, e in enumerate(inputs)}
    for err in errors:
        channel.send(error_message(err, lambda e: by_id.get(id(e))))
        counts['errors'] += 1
    channel.send({'type': 'done', 'counts': counts})
