"""The trusted loader stage: parse and book a ledger with Beancount 2.3.5, run Beancount's own
pre-plugin ops, and hand the host everything it needs to run the ledger's plugins sandboxed.

With --host-dir, every filename is mapped from the ledger's mount to that host directory.
With --session, the stage then stays up to run Beancount's builtin plugins the admin's
profile lets run here, and to finalize and print the chain's result (session.py): the
ledger is decoded once per run, here.

Output (JSON lines on the private stdout), in this order (options and plugins are sent
and flushed as soon as the ledger is parsed, before booking):
  {"type":"options", "options":{...}, "sandbox":{...}, "input_hash":s}
  {"type":"plugins", "processing_mode":s, "pre":[names run here], "plugins":[{name,config,filename,lineno}],
   "post":[names the finalizer runs]}
  {"type":"error", "kind":s, "message":s, "source":{filename,lineno}|null, "index":i|null}   (0..n)
  {"type":"directive", "index":i, "directive":D}                                           (0..N-1)
  {"type":"loaded", "format":{...}, "count":N, "data":s}     with --loaded-pickle, or when asked (loaded.py)
  {"type":"done", "count":N, "errors":n}

With --pickle-on-request (a session), the host says, once it has decided where each plugin runs,
whether the pickle is worth making: after the directives, the stage reads one line,
  {"type":"load", "pickle":bool}
(an input that ends instead means false), then sends the pickle when asked, then "done".
"""
import gc
import importlib
import os
import sys

from beancount import loader
from beancount.core import data
from beancount.parser import booking, grammar, options

from .channel import ProtocolError, read_lines
from .codec import encode_directive
from .errors import error_message
from .options_codec import encode_options
from .paths import NoMap, PathMap
from . import loaded, session
from .transform import run_plugin

# Ledger options of the plugin sandboxing design. Beancount does not know them; they are
# registered so the parser neither reports them as invalid nor loses their values.
SANDBOX_OPTIONS = ('plugin_sandbox', 'plugin_timeout', 'plugin_memory_limit')


def _register_sandbox_options():
    for name in SANDBOX_OPTIONS:
        options.OPTIONS[name] = options.Opt(name, None, 'value')
        options.OPTIONS_DEFAULTS[name] = None


_plugin_sources = {}  # id(options['plugin'] list) -> (that list, [(filename, lineno)])


def _record_plugin_sources():
    """Wraps the grammar's plugin handler to remember where each plugin line is."""
    original = grammar.Builder.plugin

    def plugin(self, filename, lineno, plugin_name, plugin_config):
        original(self, filename, lineno, plugin_name, plugin_config)
        lst = self.options['plugin']
        _plugin_sources.setdefault(id(lst), (lst, []))[1].append((filename, lineno))

    grammar.Builder.plugin = plugin


def _plugin_list(options_map):
    lst = options_map['plugin']
    sources = _plugin_sources.get(id(lst), (None, []))[1]
    out = []
    for i, (name, config) in enumerate(lst):
        filename, lineno = sources[i] if i < len(sources) else (None, None)
        out.append({'name': name, 'config': config, 'filename': filename, 'lineno': lineno})
    return out


def parse(ledger_path):
    """Parses the ledger and its includes: (entries, errors, options_map, sandbox options)."""
    _register_sandbox_options()
    _record_plugin_sources()
    path = os.path.normpath(os.path.abspath(ledger_path))
    entries, parse_errors, options_map = loader._parse_recursive([(path, True)], None, None)
    sandbox = {name: options_map.pop(name, None) for name in SANDBOX_OPTIONS}
    return entries, list(parse_errors), options_map, sandbox


def plugin_info(options_map):
    mode = options_map['plugin_processing_mode']
    if mode == 'default':
        pre = [name for name, _ in loader.DEFAULT_PLUGINS_PRE]
        post = [name for name, _ in loader.DEFAULT_PLUGINS_POST]
    elif mode == 'raw':
        pre, post = [], []
    else:
        raise ValueError('invalid plugin_processing_mode {!r}'.format(mode))
    return {'processing_mode': mode, 'pre': pre, 'plugins': _plugin_list(options_map), 'post': post}


def book(entries, errors, options_map):
    """Sorts, books and runs Beancount's own pre-plugin ops, as Beancount's _load does just
    before the ledger's plugins. Returns (entries, errors)."""
    entries.sort(key=data.entry_sortkey)
    entries, balance_errors = booking.book(entries, options_map)
    errors.extend(balance_errors)
    if options_map['plugin_processing_mode'] == 'default':
        for name, config in loader.DEFAULT_PLUGINS_PRE:
            entries, errs = run_plugin(lambda name=name: importlib.import_module(name), name, config,
                                       entries, options_map)
            errors.extend(errs)
    return entries, errors


def load_choice(lines):
    """The host's one "load" line: whether to send the pickle (False when its input ends)."""
    for n, msg in lines:
        if msg['type'] != 'load':
            raise ProtocolError('line {}: expected "load", found type {!r}'.format(n, msg['type']))
        pickle = msg.get('pickle')
        if not isinstance(pickle, bool):
            raise ProtocolError('line {}: "pickle" must be true or false'.format(n))
        return pickle
    return False


def main(channel, args):
    # cyclic GC over the freshly parsed objects costs more than the parse (nothing here is cyclic)
    gc.disable()
    ledger = os.path.normpath(os.path.abspath(args.ledger))
    paths = PathMap(os.path.dirname(ledger), args.host_dir) if args.host_dir else NoMap()
    entries, errors, options_map, sandbox = parse(ledger)
    plugins = plugin_info(options_map)
    for p in plugins['plugins']:
        p['filename'] = paths.path(p['filename'])
    # the host learns the plugin lines now, and starts their containers while booking goes on
    options_json = paths.options(encode_options(options_map))
    channel.send({'type': 'options', 'options': options_json,
                  'sandbox': sandbox, 'input_hash': loader.compute_input_hash(options_map['include'])})
    channel.send(dict(type='plugins', **plugins))
    channel.flush()

    entries, errors = book(entries, errors, options_map)
    by_id = {id(e): i for i, e in enumerate(entries)}
    for err in errors:
        channel.send(paths.error(error_message(err, lambda e: by_id.get(id(e)), with_kind=True)))
    entries = paths.entries(entries)
    # the pickle is made from each directive's JSON, and a session judges its builtins' effects against it
    encoded = [] if (args.loaded_pickle or args.session) else None
    for i, e in enumerate(entries):
        enc = encode_directive(e)
        channel.send({'type': 'directive', 'index': i, 'directive': enc})
        if encoded is not None:
            encoded.append(enc)
    lines = read_lines(sys.stdin.buffer) if args.session else None
    want_pickle = args.loaded_pickle
    if args.pickle_on_request and lines is not None:
        channel.flush()  # the host checks the directives while it decides
        want_pickle = load_choice(lines) or want_pickle
    msg = loaded.message(encoded) if want_pickle else None
    if msg is not None:
        # the same directives once more, as one pickle for Python plugin runners (loaded.py)
        channel.send(msg)
    channel.send({'type': 'done', 'count': len(entries), 'errors': len(errors)})
    channel.flush()
    if args.session:
        session.serve(channel, entries, encoded, options_map, options_json, lines)
