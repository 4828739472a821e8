"""The trusted finalizer stage: Beancount's post-plugin ops and validation on the final directives.

Input: a protocol v1 stream (header with the options, directives, end). Output: the same
messages a plugin sends (the post ops, like beancount.ops.balance, may modify directives),
with each error's Beancount class name in "kind".
"""
import gc
import importlib
import sys

from beancount import loader
from beancount.ops import validation

from .channel import read_stream
from .codec import decode_directive
from .effects import compute_effects, to_messages
from .errors import error_message
from .options_codec import decode_options
from .transform import run_plugin


def finalize(entries, options_map):
    """Returns (entries, errors) as Beancount's _load ends: post ops, then validation."""
    errors = []
    if options_map.get('plugin_processing_mode', 'default') == 'default':
        for name, config in loader.DEFAULT_PLUGINS_POST:
            entries, errs = run_plugin(lambda name=name: importlib.import_module(name), name, config,
                                       entries, options_map)
            errors.extend(errs)
    errors.extend(validation.validate(entries, options_map, None, None))
    return entries, errors


def send_answer(channel, ops, inputs, errors):
    """The finalizer's answer, as a plugin's: the ops, the errors (with their kind), done."""
    msgs, counts = to_messages(ops)
    for m in msgs:
        channel.send(m)
    by_id = {id(e): i for i, e in enumerate(inputs)}
    for err in errors:
        channel.send(error_message(err, lambda e: by_id.get(id(e)), with_kind=True))
        counts['errors'] += 1
    channel.send({'type': 'done', 'counts': counts})


def main(channel, args):
    gc.disable()  # decoding makes tens of thousands of acyclic objects
    header, directives_json = read_stream(sys.stdin.buffer)
    options_map = decode_options(header.get('options') or {})
    inputs = [decode_directive(d) for d in directives_json]
    outputs, errors = finalize(list(inputs), options_map)
    send_answer(channel, compute_effects(inputs, directives_json, outputs), inputs, errors)
