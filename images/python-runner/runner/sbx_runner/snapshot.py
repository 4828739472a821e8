"""Structural snapshots of decoded inputs, so inputs a plugin returns untouched need no re-encoding.

A directive is a namedtuple: its fields can never be rebound, so its encoding can only change
through what is mutable inside it. Of what codec.decode_directive builds, that is: the meta dict,
a dict value in it (__tolerances__, with its `default`), the Transaction.postings list, each
posting's meta dict (and a dict value in it), the Open.currencies list and the Custom.values list.
Everything else (str, int, bool, None, Decimal, date, frozenset, Booking, Amount, Cost, CostSpec,
Posting, ValueType) is immutable and can only be reached through those.

The inputs are snapshotted in blocks of BLOCK directives. A block's snapshot is two flat lists
built at C speed: its shape (the directives' types and the length of each container, compared
with ==, exact for types and ints) and its refs (what the containers hold: postings, meta keys
and values, nested dict items, currencies, custom values), compared by identity. Identity, never
==: Decimal('1.0') == Decimal('1.00') and 1 == True, yet they encode differently. The shape fixes
where each container's items sit in refs, and refs holds every object it lists, so none can be
freed and its id reused: the same shape and the same refs after the plugin mean nothing any
encoding in the block reads has changed. A block that differs in anything, or that holds
something the decoder never makes, has its inputs re-encoded and compared as before.
"""
import datetime
from decimal import Decimal
from functools import partial
from itertools import chain, compress, islice, repeat
from operator import attrgetter, is_, is_not

from beancount.core import data
from beancount.core.amount import Amount
from beancount.parser.grammar import ValueType
from beancount.utils.defdict import ImmutableDictWithDefault

BLOCK = 32

# values that cannot change in place (Amount holds a Decimal and a str)
_LEAF = frozenset((str, int, bool, type(None), Decimal, datetime.date, Amount))
_DICTS = frozenset((dict, ImmutableDictWithDefault))
# what meta values and list items may be (a custom value's own value is checked too)
_VALUE_OK = _LEAF | {ValueType}
_VALUE_OK_OR_DICTS = _VALUE_OK | _DICTS
_is_not_none = partial(is_not, None)
_chain = chain.from_iterable
_values = dict.values
_meta = attrgetter('meta')
_postings = attrgetter('postings')
_default = attrgetter('default')
_LISTS = ((data.Open, attrgetter('currencies')), (data.Custom, attrgetter('values')))


def _of_type(entries, types, cls):
    return compress(entries, map(is_, types, repeat(cls)))


def _walk(entries):
    """(shape, refs, where the meta values start in refs) of a block, dict values in meta not yet
    looked into. Refs holds the postings, then the meta keys, then the meta values and the items
    of currencies and custom values lists."""
    types = list(map(type, entries))
    # a directive's meta, postings, currencies and values are fixed for as long as it exists
    metas = list(filter(_is_not_none, map(_meta, entries)))
    postings = list(map(_postings, _of_type(entries, types, data.Transaction)))
    metas += filter(_is_not_none, map(_meta, _chain(postings)))
    shape = [*types, *map(len, postings), *map(len, metas)]
    refs = [*_chain(postings), *_chain(metas)]
    start = len(refs)
    refs += _chain(map(_values, metas))
    for cls, field in _LISTS:
        if cls in types:
            lists = list(filter(_is_not_none, map(field, _of_type(entries, types, cls))))
            shape += map(len, lists)
            refs += _chain(lists)
    return shape, refs, start


def _add_dicts(shape, refs, at, idwd_mask):
    """Appends the dict values' types and lengths to shape, their items and defaults to refs;
    `at` (from the snapshot) says where in refs the dicts are, `idwd_mask` which of them are
    ImmutableDictWithDefault."""
    dicts = list(map(refs.__getitem__, at))
    shape += (*map(type, dicts), *map(len, dicts))
    refs += (*_chain(dicts), *_chain(map(_values, dicts)), *map(_default, compress(dicts, idwd_mask)))


def _positions(items, value, offset):
    """Where `value` occurs in `items`, plus `offset` (a C-speed search per hit: hits are few)."""
    at = []
    i = -1
    try:
        while True:
            i = items.index(value, i + 1)
            at.append(i + offset)
    except ValueError:
        return at


def _take(entries):
    """A block's snapshot (shape, refs, dict positions, idwd_mask), or None: always re-encode it."""
    try:
        shape, refs, start = _walk(entries)
        # postings, and keys (from JSON objects), are what the decoder made; the rest is checked
        types = list(map(type, islice(refs, start, None)))
        kinds = set(types)
        at = idwd_mask = None
        if not _VALUE_OK.issuperset(kinds):
            if not _VALUE_OK_OR_DICTS.issuperset(kinds):
                return None
            at = sorted(_positions(types, dict, start) + _positions(types, ImmutableDictWithDefault, start))
            dicts = list(map(refs.__getitem__, at))
            if not _LEAF.issuperset(map(type, _chain(map(_values, dicts)))):
                return None
            idwd_mask = [type(d) is ImmutableDictWithDefault for d in dicts]
            _add_dicts(shape, refs, at, idwd_mask)
        if ValueType in kinds:
            for i in _positions(types, ValueType, start):
                if type(refs[i].value) not in _LEAF:
                    return None
    except Exception:  # e.g. a meta that is not a dict: the decoder never makes one
        return None
    return shape, refs, at, idwd_mask


def _same(entries, snap):
    if snap is None:
        return False
    shape, refs, at, idwd_mask = snap
    try:
        now_shape, now_refs = _walk(entries)[:2]
        if at is not None:
            _add_dicts(now_shape, now_refs, at, idwd_mask)
    except Exception:  # a plugin made something the walk cannot read: re-encode
        return False
    return now_shape == shape and len(now_refs) == len(refs) and all(map(is_, now_refs, refs))


class Snapshot:
    """Taken before the plugin sees the inputs; `untouched()` after it has run."""

    def __init__(self, entries, blocks=None):
        self._entries = list(entries)
        if blocks is None:
            blocks = [_take(self._entries[s:s + BLOCK]) for s in range(0, len(self._entries), BLOCK)]
        self._blocks = blocks

    def untouched(self):
        """One bool per input: True when nothing its encoding reads can have changed."""
        es = self._entries
        same = [_same(es[s:s + BLOCK], snap) for s, snap in zip(range(0, len(es), BLOCK), self._blocks)]
        return list(_chain(map(repeat, same, repeat(BLOCK))))[:len(es)]


def decode_with_snapshot(directives_json, decode):
    """Decodes each directive with `decode` and snapshots them block by block, while the new
    objects are still in the CPU cache. Returns (directives, Snapshot)."""
    entries, blocks = [], []
    for s in range(0, len(directives_json), BLOCK):
        block = list(map(decode, directives_json[s:s + BLOCK]))
        entries += block
        blocks.append(_take(block))
    return entries, Snapshot(entries, blocks)
