"""The trusted loader stage: parse and book a ledger with Beancount 2.3.5, run Beancount's own
pre-plugin ops, and hand the host everything it needs to run the ledger's plugins sandboxed.

Output (JSON lines on the private stdout), in this order:
  {"type":"options", "options":{...}, "sandbox":{...}, "input_hash":s}
  {"type":"plugins", "processing_mode":s, "pre":[names run here], "plugins":[{name,config,filename,lineno}],
   "post":[names the finalizer runs]}
  {"type":"error", "kind":s, "message":s, "source":{filename,lineno}|null, "index":i|null}   (0..n)
  {"type":"directive", "index":i, "directive":D}                                           (0..N-1)
  {"type":"done", "count":N, "errors":n}
"""
import gc
import importlib
import os

from beancount import loader
from beancount.core import data
from beancount.parser import booking, grammar, options

from .codec import encode_directive
from .errors import error_message
from .options_codec import encode_options
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


def load(ledger_path):
    """Returns (entries, errors, options_map, sandbox, plugin info), as Beancount's _load would
    have them just before the ledger's own plugins run."""
    _register_sandbox_options()
    _record_plugin_sources()
    path = os.path.normpath(os.path.abspath(ledger_path))

    entries, parse_errors, options_map = loader._parse_recursive([(path, True)], None, None)
    entries.sort(key=data.entry_sortkey)
    entries, balance_errors = booking.book(entries, options_map)
    parse_errors.extend(balance_errors)
    errors = list(parse_errors)

    sandbox = {name: options_map.pop(name, None) for name in SANDBOX_OPTIONS}
    mode = options_map['plugin_processing_mode']
    if mode == 'default':
        pre = [name for name, _ in loader.DEFAULT_PLUGINS_PRE]
        post = [name for name, _ in loader.DEFAULT_PLUGINS_POST]
        for name, config in loader.DEFAULT_PLUGINS_PRE:
            entries, errs = run_plugin(lambda name=name: importlib.import_module(name), name, config,
                                       entries, options_map)
            errors.extend(errs)
    elif mode == 'raw':
        pre, post = [], []
    else:
        raise ValueError('invalid plugin_processing_mode {!r}'.format(mode))
    plugins = {'processing_mode': mode, 'pre': pre, 'plugins': _plugin_list(options_map), 'post': post}
    input_hash = loader.compute_input_hash(options_map['include'])
    return entries, errors, options_map, sandbox, plugins, input_hash


def main(channel, args):
    # cyclic GC over the freshly parsed objects costs more than the parse (nothing here is cyclic)
    gc.disable()
    entries, errors, options_map, sandbox, plugins, input_hash = load(args.ledger)
    channel.send({'type': 'options', 'options': encode_options(options_map), 'sandbox': sandbox,
                  'input_hash': input_hash})
    channel.send(dict(type='plugins', **plugins))
    by_id = {id(e): i for i, e in enumerate(entries)}
    for err in errors:
        channel.send(error_message(err, lambda e: by_id.get(id(e)), with_kind=True))
    for i, e in enumerate(entries):
        channel.send({'type': 'directive', 'index': i, 'directive': encode_directive(e)})
    channel.send({'type': 'done', 'count': len(entries), 'errors': len(errors)})
