"""Beancount's options_map <-> JSON, so a plugin in its own container gets the same map
the loader built (including the DisplayContext and the Booking method)."""
import copy
from decimal import Decimal

from beancount.core import data
from beancount.core import display_context
from beancount.parser import options

from .codec import CodecError, dec_decimal, enc_decimal


def _enc_dcontext(dc):
    ccs = {}
    for currency, cc in dc.ccontexts.items():
        ccs[currency] = {
            'has_sign': bool(cc.has_sign),
            'integer_max': int(cc.integer_max),
            'fractional': {str(k): int(v) for k, v in sorted(cc.fractional_dist.hist.items())},
        }
    return {'commas': bool(dc.commas), 'currencies': ccs}


def _dec_dcontext(o):
    dc = display_context.DisplayContext()
    dc.commas = bool(o['commas'])
    for currency, c in o['currencies'].items():
        cc = dc.ccontexts[currency]
        cc.has_sign = bool(c['has_sign'])
        cc.integer_max = int(c['integer_max'])
        for k, v in c['fractional'].items():
            cc.fractional_dist.hist[int(k)] = int(v)
    return dc


def encode_value(v):
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, Decimal):
        return {'@decimal': enc_decimal(v)}
    if isinstance(v, data.Booking):
        return {'@booking': v.name}
    if isinstance(v, display_context.DisplayContext):
        return {'@dcontext': _enc_dcontext(v)}
    if isinstance(v, (set, frozenset)):
        return {'@set': sorted(encode_value(x) for x in v)}
    if isinstance(v, tuple):
        return {'@tuple': [encode_value(x) for x in v]}
    if isinstance(v, list):
        return [encode_value(x) for x in v]
    if isinstance(v, dict):
        return {'@dict': [[encode_value(k), encode_value(x)] for k, x in v.items()]}
    raise CodecError('option value of type {} cannot be carried'.format(type(v).__name__))


def decode_value(v):
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, list):
        return [decode_value(x) for x in v]
    if isinstance(v, dict) and len(v) == 1:
        (tag, inner), = v.items()
        if tag == '@decimal':
            return dec_decimal(inner)
        if tag == '@booking':
            return data.Booking[inner]
        if tag == '@dcontext':
            return _dec_dcontext(inner)
        if tag == '@set':
            return set(decode_value(x) for x in inner)
        if tag == '@tuple':
            return tuple(decode_value(x) for x in inner)
        if tag == '@dict':
            return {decode_value(k): decode_value(x) for k, x in inner}
    raise CodecError('bad option value {!r}'.format(v))


def encode_options(options_map):
    return {k: encode_value(v) for k, v in options_map.items()}


def decode_options(o):
    """JSON -> options_map. Keys the JSON lacks get Beancount's defaults, so a stream that
    did not come from the loader stage (e.g. a JSONL file) still gives plugins a full map."""
    if not isinstance(o, dict):
        raise CodecError('options: expected an object')
    options_map = copy.deepcopy(options.OPTIONS_DEFAULTS)
    options_map.update((k, decode_value(v)) for k, v in o.items())
    return options_map
