"""Beancount 2 directives <-> protocol v1 JSON (docs/protocol.md), exact both ways.

Decimals travel as plain decimal strings (never floats, never exponents), dates as
ISO strings, sets as sorted lists, and metadata values carry their type.
"""
import datetime
import re
from decimal import Decimal

from beancount.core import account as bc_account
from beancount.core import data
from beancount.core.amount import Amount
from beancount.core.number import MISSING
from beancount.core.position import Cost, CostSpec
from beancount.parser.grammar import ValueType
from beancount.utils.defdict import ImmutableDictWithDefault


_DECIMAL_RE = re.compile(r'-?[0-9]+(?:\.[0-9]+)?\Z').match


class CodecError(ValueError):
    """A value that protocol v1 cannot carry (or a malformed protocol value)."""


# --- scalars -----------------------------------------------------------------

def enc_decimal(d):
    if not isinstance(d, Decimal):
        raise CodecError('expected a Decimal, found {}'.format(type(d).__name__))
    if not d.is_finite():
        raise CodecError('expected a finite Decimal, found {}'.format(d))
    # format 'f' never uses an exponent (str() would print 1E+2); the value is the same
    return format(d, 'f')


def dec_decimal(s):
    if type(s) is not str or not _DECIMAL_RE(s):
        raise CodecError('expected an exact decimal string like "-12.50", found {!r}'.format(s))
    return Decimal(s)


def enc_date(d):
    if isinstance(d, datetime.datetime) or not isinstance(d, datetime.date):
        raise CodecError('expected a date, found {}'.format(type(d).__name__))
    return d.isoformat()


def dec_date(s):
    if not isinstance(s, str) or len(s) != 10:
        raise CodecError('expected a date YYYY-MM-DD, found {!r}'.format(s))
    try:
        return datetime.date.fromisoformat(s)
    except ValueError as exc:
        raise CodecError('bad date {!r}'.format(s)) from exc


def _opt(fn, v):
    return None if v is None else fn(v)


def enc_number(n):
    # MISSING only exists before booking; it travels as null like None
    return None if n is None or n is MISSING else enc_decimal(n)


def enc_amount(a):
    if not isinstance(a, Amount):
        raise CodecError('expected an Amount, found {}'.format(type(a).__name__))
    return {'number': enc_number(a.number), 'currency': _enc_opt_str(a.currency)}


def dec_amount(o):
    _expect_keys(o, ('number', 'currency'), 'Amount')
    n = o['number']
    return Amount(None if n is None else dec_decimal(n), o['currency'])


def _enc_opt_str(s):
    if s is None or s is MISSING:
        return None
    if not isinstance(s, str):
        raise CodecError('expected a string, found {}'.format(type(s).__name__))
    return s


def _enc_str(s, what):
    if not isinstance(s, str):
        raise CodecError('{}: expected a string, found {}'.format(what, type(s).__name__))
    return s


_KEYSETS = {}


def _expect_keys(o, keys, what):
    ks = _KEYSETS.get(keys)
    if ks is None:
        ks = _KEYSETS[keys] = frozenset(keys)
    if type(o) is not dict or o.keys() != ks:
        raise CodecError('{}: expected keys {}, found {!r}'.format(
            what, sorted(keys), sorted(o) if isinstance(o, dict) else o))


# --- costs -------------------------------------------------------------------

def enc_cost(c):
    if c is None:
        return None
    if isinstance(c, Cost):
        return {'kind': 'cost', 'number': enc_decimal(c.number), 'currency': c.currency,
                'date': enc_date(c.date), 'label': c.label}
    if isinstance(c, CostSpec):
        return {'kind': 'costspec', 'number_per': enc_number(c.number_per),
                'number_total': enc_number(c.number_total), 'currency': _enc_opt_str(c.currency),
                'date': _opt(enc_date, c.date), 'label': c.label,
                'merge': c.merge}
    raise CodecError('expected a Cost or CostSpec, found {}'.format(type(c).__name__))


def dec_cost(o):
    if o is None:
        return None
    kind = o.get('kind') if isinstance(o, dict) else None
    if kind == 'cost':
        _expect_keys(o, ('kind', 'number', 'currency', 'date', 'label'), 'Cost')
        return Cost(dec_decimal(o['number']), o['currency'], dec_date(o['date']), o['label'])
    if kind == 'costspec':
        _expect_keys(o, ('kind', 'number_per', 'number_total', 'currency', 'date', 'label', 'merge'),
                     'CostSpec')
        return CostSpec(_opt(dec_decimal, o['number_per']), _opt(dec_decimal, o['number_total']),
                        o['currency'], _opt(dec_date, o['date']), o['label'], o['merge'])
    raise CodecError('cost: expected kind "cost" or "costspec", found {!r}'.format(kind))


# --- metadata ----------------------------------------------------------------

TOLERANCES_KEY = '__tolerances__'


def enc_meta_value(v, key=None):
    # bool before int: bool is a subclass of int
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, Decimal):
        return {'@decimal': enc_decimal(v)}
    if isinstance(v, datetime.date) and not isinstance(v, datetime.datetime):
        return {'@date': enc_date(v)}
    if isinstance(v, Amount):
        return {'@amount': enc_amount(v)}
    if isinstance(v, dict) and key == TOLERANCES_KEY:
        out = {_enc_str(c, 'tolerance currency'): enc_decimal(t) for c, t in v.items()}
        if isinstance(v, ImmutableDictWithDefault):
            # Beancount's own spelling of a default tolerance is the currency "*"
            out['*'] = enc_decimal(v.default)
        return {'@tolerances': out}
    raise CodecError('metadata {!r}: values of type {} cannot be carried (str, bool, None, int, '
                     'Decimal, date, Amount only)'.format(key, type(v).__name__))


def dec_meta_value(v):
    t = type(v)
    if t is str or t is int or t is bool or v is None:
        return v
    if isinstance(v, dict) and len(v) == 1:
        (tag, inner), = v.items()
        if tag == '@decimal':
            return dec_decimal(inner)
        if tag == '@date':
            return dec_date(inner)
        if tag == '@amount':
            return dec_amount(inner)
        if tag == '@tolerances' and isinstance(inner, dict):
            values = {c: dec_decimal(t) for c, t in inner.items() if c != '*'}
            if '*' in inner:
                return ImmutableDictWithDefault(values, default=dec_decimal(inner['*']))
            return values
    raise CodecError('bad metadata value {!r}'.format(v))


def enc_meta(m):
    if m is None:
        return None
    if not isinstance(m, dict):
        raise CodecError('metadata: expected a dict, found {}'.format(type(m).__name__))
    out = {}
    for k, v in m.items():
        if not isinstance(k, str):
            raise CodecError('metadata keys must be strings, found {!r}'.format(k))
        out[k] = enc_meta_value(v, k)
    return out


def dec_meta(o):
    if o is None:
        return None
    if not isinstance(o, dict):
        raise CodecError('metadata: expected an object')
    return {k: dec_meta_value(v) for k, v in o.items()}


# --- tags, custom values, postings ---------------------------------------------

def enc_tagset(s):
    if s is None:
        return None
    return sorted(_enc_str(t, 'tag') for t in s)


def dec_tagset(a):
    return None if a is None else frozenset(a)


_CUSTOM_DTYPES = ((str, 'str'), (Decimal, 'decimal'), (datetime.date, 'date'), (bool, 'bool'),
                  (Amount, 'amount'), (bc_account.TYPE, 'account'))


def enc_custom_value(vt):
    value, dtype = vt
    for py, name in _CUSTOM_DTYPES:
        if dtype is py or dtype == py and name == 'account':
            if name in ('str', 'account'):
                return {'value': _enc_str(value, 'custom value'), 'dtype': name}
            if name == 'bool':
                if not isinstance(value, bool):
                    raise CodecError('custom bool value is {}'.format(type(value).__name__))
                return {'value': value, 'dtype': name}
            return {'value': enc_meta_value(value), 'dtype': name}
    raise CodecError('custom value dtype {!r} cannot be carried'.format(dtype))


def dec_custom_value(o):
    _expect_keys(o, ('value', 'dtype'), 'custom value')
    dtype = o['dtype']
    for py, name in _CUSTOM_DTYPES:
        if name == dtype:
            value = o['value'] if name in ('str', 'account', 'bool') else dec_meta_value(o['value'])
            return ValueType(value, py)
    raise CodecError('unknown custom dtype {!r}'.format(dtype))


def enc_posting(p):
    if not isinstance(p, data.Posting):
        raise CodecError('expected a Posting, found {}'.format(type(p).__name__))
    return {'account': _enc_str(p.account, 'posting account'),
            'units': None if p.units is None or p.units is MISSING else enc_amount(p.units),
            'cost': enc_cost(p.cost),
            'price': _opt(enc_amount, p.price),
            'flag': _enc_opt_str(p.flag),
            'meta': enc_meta(p.meta)}


def dec_posting(o):
    _expect_keys(o, ('account', 'units', 'cost', 'price', 'flag', 'meta'), 'Posting')
    return data.Posting(o['account'], _opt(dec_amount, o['units']), dec_cost(o['cost']),
                        _opt(dec_amount, o['price']), o['flag'], dec_meta(o['meta']))


# --- directives ----------------------------------------------------------------

def _booking_name(b):
    return None if b is None else (b.name if isinstance(b, data.Booking) else _enc_str(b, 'booking'))


# type name -> (class, [(json field, python field, encode, decode)])
_FIELDS = {
    'Open': (data.Open, [('account', 'account', None, None),
                         ('currencies', 'currencies',
                          lambda v: None if v is None else [_enc_str(c, 'currency') for c in v],
                          lambda v: None if v is None else list(v)),
                         ('booking', 'booking', _booking_name,
                          lambda v: None if v is None else data.Booking[v])]),
    'Close': (data.Close, [('account', 'account', None, None)]),
    'Commodity': (data.Commodity, [('currency', 'currency', None, None)]),
    'Pad': (data.Pad, [('account', 'account', None, None),
                       ('source_account', 'source_account', None, None)]),
    'Balance': (data.Balance, [('account', 'account', None, None),
                               ('amount', 'amount', enc_amount, dec_amount),
                               ('tolerance', 'tolerance', lambda v: _opt(enc_decimal, v),
                                lambda v: _opt(dec_decimal, v)),
                               ('diff_amount', 'diff_amount', lambda v: _opt(enc_amount, v),
                                lambda v: _opt(dec_amount, v))]),
    'Transaction': (data.Transaction, [
        ('flag', 'flag', None, None),
        ('payee', 'payee', _enc_opt_str, None),
        # a None narration (only ever made by code, never parsed) travels as ""
        ('narration', 'narration', lambda v: '' if v is None else _enc_str(v, 'narration'), None),
        ('tags', 'tags', lambda v: enc_tagset(v) or [], frozenset),
        ('links', 'links', lambda v: enc_tagset(v) or [], frozenset),
        ('postings', 'postings', lambda v: [enc_posting(p) for p in v],
         lambda v: [dec_posting(p) for p in v])]),
    'Note': (data.Note, [('account', 'account', None, None), ('comment', 'comment', None, None)]),
    'Event': (data.Event, [('event_type', 'type', None, None),
                           ('description', 'description', None, None)]),
    'Query': (data.Query, [('name', 'name', None, None), ('query_string', 'query_string', None, None)]),
    'Price': (data.Price, [('currency', 'currency', None, None),
                           ('amount', 'amount', enc_amount, dec_amount)]),
    'Document': (data.Document, [('account', 'account', None, None),
                                 ('filename', 'filename', None, None),
                                 ('tags', 'tags', enc_tagset, dec_tagset),
                                 ('links', 'links', enc_tagset, dec_tagset)]),
    # the parser leaves values None when a custom directive has none
    'Custom': (data.Custom, [('custom_type', 'type', None, None),
                             ('values', 'values',
                              lambda v: None if v is None else [enc_custom_value(x) for x in v],
                              lambda v: None if v is None else [dec_custom_value(x) for x in v])]),
}
_BY_CLASS = {cls: (name, fields) for name, (cls, fields) in _FIELDS.items()}


def encode_directive(entry):
    """A beancount.core.data directive -> protocol JSON (a dict)."""
    spec = _BY_CLASS.get(type(entry))
    if spec is None:
        raise CodecError('not a Beancount directive: {}'.format(type(entry).__name__))
    name, fields = spec
    out = {'type': name, 'date': enc_date(entry.date), 'meta': enc_meta(entry.meta) or {}}
    for jname, pname, enc, _ in fields:
        v = getattr(entry, pname)
        out[jname] = enc(v) if enc else _enc_str(v, '{}.{}'.format(name, jname))
    return out


def decode_directive(o):
    """Protocol JSON (a dict) -> a beancount.core.data directive."""
    if not isinstance(o, dict) or o.get('type') not in _FIELDS:
        raise CodecError('unknown directive type {!r}'.format(o.get('type') if isinstance(o, dict) else o))
    cls, fields = _FIELDS[o['type']]
    _expect_keys(o, ('type', 'date', 'meta') + tuple(f[0] for f in fields), o['type'])
    args = {'meta': dec_meta(o['meta']), 'date': dec_date(o['date'])}
    for jname, pname, _, dec in fields:
        args[pname] = dec(o[jname]) if dec else o[jname]
    return cls(**args)


def encode_source(meta):
    """An error's source (a meta dict) -> {filename, lineno} or None."""
    if not isinstance(meta, dict):
        return None
    filename, lineno = meta.get('filename'), meta.get('lineno')
    if not isinstance(filename, str):
        return None
    if isinstance(lineno, bool) or not isinstance(lineno, int) or lineno < 0:
        lineno = 0
    return {'filename': filename, 'lineno': lineno}
