"""The loaded ledger as one pickle, made once by the trusted loader, for Python plugin runners.

A plugin container otherwise decodes its whole input from JSON (docs/protocol.md, "Input
encodings"). The loader, which is trusted, decodes each directive it sends from the very JSON
it sends (so the objects are the ones a runner's decoder would make from it) and pickles the
list once; the host forwards that text to each Python runner, unread, with references
into it in place of the directives' JSON. Data only ever flows trusted -> untrusted here: the
host never unpickles, and what a runner sends back stays JSON, validated as always.

A pickle is only read by the same Python, pickle protocol, Beancount and codec that wrote it
(FORMAT, checked before anything is unpickled); a runner of another make refuses the input.
"""
import base64
import copyreg
import io
import pickle
import sys

import beancount
from beancount.core import data
from beancount.core.amount import Amount
from beancount.core.position import Cost, CostSpec
from beancount.parser.grammar import ValueType
from beancount.utils.defdict import ImmutableDictWithDefault

from .channel import ProtocolError
from .codec import decode_directive, encode_directive

ENCODING = 'pickle'
PROTOCOL = 5
#: what a pickle depends on; bump CODEC when codec.py changes what it decodes to
CODEC = 1
FORMAT = {'encoding': ENCODING, 'pickle': PROTOCOL, 'python': '{}.{}'.format(*sys.version_info[:2]),
          'beancount': beancount.__version__, 'codec': CODEC}

# the namedtuples codec.py builds with tuple.__new__ (past their own __new__): rebuilt the same way
_TUPLES = (data.Open, data.Close, data.Commodity, data.Pad, data.Balance, data.Transaction, data.Note,
           data.Event, data.Query, data.Price, data.Document, data.Custom, data.Posting, Amount, Cost,
           CostSpec, ValueType)
_new = tuple.__new__


def _tolerances(values, default):
    """An ImmutableDictWithDefault as codec._dec_tolerances makes it (it refuses item assignment)."""
    return ImmutableDictWithDefault(values, default=default)


def _reduce_tuple(t):
    return _new, (type(t), tuple(t))


def _reduce_tolerances(d):
    return _tolerances, (dict(d), d.default)


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH.update({cls: _reduce_tuple for cls in _TUPLES})
_DISPATCH[ImmutableDictWithDefault] = _reduce_tolerances


# the host reads the loader's lines up to 64 MiB each: a larger pickle is not sent (JSON serves)
MAX_DATA_CHARS = 48 << 20


def message(directives_json, max_chars=MAX_DATA_CHARS):
    """Trusted side: the "loaded" message of the directives whose JSON was just sent, each
    decoded from that very JSON (as a runner would decode it), all pickled at once; None when
    its text would pass `max_chars`."""
    entries = [decode_directive(d) for d in directives_json]
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(entries)
    if (buf.getbuffer().nbytes + 2) // 3 * 4 > max_chars:
        return None
    return {'type': 'loaded', 'format': FORMAT, 'count': len(entries),
            'data': base64.b64encode(buf.getbuffer()).decode('ascii')}


class LoadedInput:
    """Runner side: the loader's directives from a "loaded" message, unpickled when first asked."""

    def __init__(self, msg, line):
        fmt = msg.get('format')
        if fmt != FORMAT:
            raise ProtocolError('line {}: the loaded input is in format {!r}; this runner reads {!r} only'.format(
                line, fmt, FORMAT))
        count, text = msg.get('count'), msg.get('data')
        if not isinstance(count, int) or isinstance(count, bool) or count < 0 or not isinstance(text, str):
            raise ProtocolError('line {}: a "loaded" message needs a non-negative "count" and a "data" string'.format(line))
        self.count = count
        self._text = text
        self._pristine = None

    def _unpickle(self):
        entries = pickle.loads(base64.b64decode(self._text, validate=True))
        if type(entries) is not list or len(entries) != self.count:
            raise ProtocolError('the loaded input holds {} directives, its message said {}'.format(
                len(entries) if type(entries) is list else type(entries).__name__, self.count))
        return entries

    def entries(self):
        """A list of its own: the plugin may change these in place."""
        return self._unpickle()

    def encoding(self, i):
        """Loaded directive i's JSON as the loader sent it, from a second, untouched copy."""
        if self._pristine is None:
            self._pristine = self._unpickle()
        return encode_directive(self._pristine[i])


class _InputJson:
    """Each input's JSON: sent in full, or worked out (only when effects ask) for a loaded one."""

    def __init__(self, items, loaded):
        self._items = items
        self._loaded = loaded
        self._made = {}

    def __len__(self):
        return len(self._items)

    def __getitem__(self, k):
        x = self._items[k]
        if type(x) is not int:
            return x
        enc = self._made.get(k)
        if enc is None:
            enc = self._made[k] = self._loaded.encoding(x)
        return enc


def assemble(items, loaded):
    """Inputs from `items` (a directive's JSON, or the index of a loaded directive).
    Returns (inputs, their JSON as a sequence)."""
    entries = loaded.entries()
    inputs = [entries[x] if type(x) is int else decode_directive(x) for x in items]
    return inputs, _InputJson(items, loaded)
