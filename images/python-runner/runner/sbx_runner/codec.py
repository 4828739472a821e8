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

# Builds a namedtuple instance without going through its generated __new__ (or Amount's
# asserting one): tuple.__new__(cls, (fields...)) is exactly what those end with.
_new = tuple.__new__


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


# Bounded caches of parsed scalars, keyed by the exact JSON string (never by value:
# Decimal('1.0') == Decimal('1.00') yet they encode differently). They only hold immutable
# objects (Decimal, date), so sharing one between directives is invisible to plugins. Each
# is cleared when it reaches _CACHE_MAX entries, so adversarial input cannot grow it.
_CACHE_MAX = 1 << 16
_CACHE_KEY_MAX = 40  # longer decimal strings are parsed every time, not kept
_DECIMALS = {}
_DATES = {}
_decimal_cached = _DECIMALS.get
_date_cached = _DATES.get


def dec_decimal(s):
    if type(s) is str:
        d = _decimal_cached(s)
        if d is not None:
            return d
        if _DECIMAL_RE(s):
            d = Decimal(s)
            if len(s) <= _CACHE_KEY_MAX:
                if len(_DECIMALS) >= _CACHE_MAX:
                    _DECIMALS.clear()
                _DECIMALS[s] = d
            return d
    raise CodecError('expected an exact decimal string like "-12.50", found {!r}'.format(s))


def enc_date(d):
    if isinstance(d, datetime.datetime) or not isinstance(d, datetime.date):
        raise CodecError('expected a date, found {}'.format(type(d).__name__))
    return d.isoformat()


def dec_date(s):
    if type(s) is str:
        d = _date_cached(s)
        if d is not None:
            return d
    if not isinstance(s, str) or len(s) != 10:
        raise CodecError('expected a date YYYY-MM-DD, found {!r}'.format(s))
    try:
        d = datetime.date.fromisoformat(s)
    except ValueError as exc:
        raise CodecError('bad date {!r}'.format(s)) from exc
    if type(s) is str:  # only exact str keys: a str subclass could hash or compare oddly
        if len(_DATES) >= _CACHE_MAX:
            _DATES.clear()
        _DATES[s] = d
    return d


def _opt(fn, v):
    return None if v is None else fn(v)


def enc_number(n):
    # MISSING only exists before booking; it travels as null like None
    return None if n is None or n is MISSING else enc_decimal(n)


def enc_amount(a):
    if type(a) is Amount:
        # the common case inlined: a finite Decimal (or None) and a str currency
        n, c = a
        if type(n) is Decimal and n.is_finite():
            n = format(n, 'f')
        elif n is not None:
            n = enc_number(n)
        return {'number': n, 'currency': c if type(c) is str else _enc_opt_str(c)}
    if not isinstance(a, Amount):
        raise CodecError('expected an Amount, found {}'.format(type(a).__name__))
    return {'number': enc_number(a.number), 'currency': _enc_opt_str(a.currency)}


_AMOUNT_KEYS = frozenset(('number', 'currency'))


def dec_amount(o):
    if type(o) is not dict or o.keys() != _AMOUNT_KEYS:
        _expect_keys(o, ('number', 'currency'), 'Amount')  # raises
    n = o['number']
    if n is not None:
        n = dec_decimal(n)
    c = o['currency']
    if c is None or type(c) is str:
        return _new(Amount, (n, c))
    # anything else: Amount's own constructor, which asserts on it as before
    return Amount(n, c)


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
        return _new(Cost, (dec_decimal(o['number']), o['currency'], dec_date(o['date']), o['label']))
    if kind == 'costspec':
        _expect_keys(o, ('kind', 'number_per', 'number_total', 'currency', 'date', 'label', 'merge'),
                     'CostSpec')
        return _new(CostSpec, (_opt(dec_decimal, o['number_per']), _opt(dec_decimal, o['number_total']),
                               o['currency'], _opt(dec_date, o['date']), o['label'], o['merge']))
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
        # (the tags are distinct strings: testing the most frequent first changes nothing)
        if tag == '@tolerances':
            if isinstance(inner, dict):
                return _dec_tolerances(inner)
        elif tag == '@decimal':
            return dec_decimal(inner)
        elif tag == '@date':
            return dec_date(inner)
        elif tag == '@amount':
            return dec_amount(inner)
    raise CodecError('bad metadata value {!r}'.format(v))


def _dec_tolerances(inner):
    """The dict of {"@tolerances": inner}: a new one each time, plugins may change it."""
    values = {}
    for c, t in inner.items():
        if c != '*':
            values[c] = dec_decimal(t)
    if '*' in inner:
        return ImmutableDictWithDefault(values, default=dec_decimal(inner['*']))
    return values


# meta values that decode, and encode, to themselves (dec_meta_value's first test)
_PLAIN_META = frozenset((str, int, bool, type(None)))
_all_plain = _PLAIN_META.issuperset  # _all_plain(map(type, values)) loops in C
_all_str = frozenset((str,)).issuperset


def enc_meta(m):
    if m is None:
        return None
    if not isinstance(m, dict):
        raise CodecError('metadata: expected a dict, found {}'.format(type(m).__name__))
    if type(m) is dict and _all_plain(map(type, m.values())) and _all_str(map(type, m)):
        return m.copy()  # what the loop below makes of it: every value encodes to itself
    out = {}
    for k, v in m.items():
        if type(v) in _PLAIN_META and type(k) is str:
            out[k] = v  # what enc_meta_value returns for these
            continue
        if not isinstance(k, str):
            raise CodecError('metadata keys must be strings, found {!r}'.format(k))
        out[k] = enc_meta_value(v, k)
    return out


def dec_meta(o):
    if o is None:
        return None
    if not isinstance(o, dict):
        raise CodecError('metadata: expected an object')
    if type(o) is not dict:
        return {k: dec_meta_value(v) for k, v in o.items()}
    # always a new dict: the decoded meta must not be the JSON object (plugins edit meta in
    # place). Most values (filename, lineno, strings) decode to themselves: copy them all, in
    # order, then replace the others where they stand.
    out = o.copy()
    for k, v in o.items():
        if type(v) not in _PLAIN_META:
            out[k] = dec_meta_value(v)
    return out


# --- tags, custom values, postings ---------------------------------------------

def enc_tagset(s):
    if s is None:
        return None
    if (type(s) is frozenset or type(s) is set) and not s:
        return []  # the usual empty tag set
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
    if type(p) is data.Posting:
        # the same as below, fields unpacked and the common types inlined
        account, units, cost, price, flag, meta = p
        return {'account': account if type(account) is str else _enc_str(account, 'posting account'),
                'units': None if units is None or units is MISSING else enc_amount(units),
                'cost': None if cost is None else enc_cost(cost),
                'price': None if price is None else enc_amount(price),
                'flag': flag if type(flag) is str else _enc_opt_str(flag),
                'meta': None if meta is None else enc_meta(meta)}
    if not isinstance(p, data.Posting):
        raise CodecError('expected a Posting, found {}'.format(type(p).__name__))
    return {'account': _enc_str(p.account, 'posting account'),
            'units': None if p.units is None or p.units is MISSING else enc_amount(p.units),
            'cost': enc_cost(p.cost),
            'price': _opt(enc_amount, p.price),
            'flag': _enc_opt_str(p.flag),
            'meta': enc_meta(p.meta)}


_POSTING_KEYS = frozenset(('account', 'units', 'cost', 'price', 'flag', 'meta'))


def dec_posting(o):
    if type(o) is not dict or o.keys() != _POSTING_KEYS:
        _expect_keys(o, ('account', 'units', 'cost', 'price', 'flag', 'meta'), 'Posting')  # raises
    # fields decoded in the order the original evaluated them (which error wins matters)
    units = o['units']
    if units is not None:
        units = dec_amount(units)
    cost = o['cost']
    if cost is not None:
        cost = dec_cost(cost)
    price = o['price']
    if price is not None:
        price = dec_amount(price)
    meta = o['meta']
    if meta is not None:
        meta = dec_meta(meta)
    return _new(data.Posting, (o['account'], units, cost, price, o['flag'], meta))


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


def _enc_date_fast(d):
    return d.isoformat() if type(d) is datetime.date else enc_date(d)


def _enc_transaction(e):
    meta, date, flag, payee, narration, tags, links, postings = e
    # the same keys, in the same order and evaluated in the same order, as the generic path
    out = {'type': 'Transaction', 'date': _enc_date_fast(date), 'meta': enc_meta(meta) or {}}
    out['flag'] = flag if type(flag) is str else _enc_str(flag, 'Transaction.flag')
    out['payee'] = payee if type(payee) is str else _enc_opt_str(payee)
    out['narration'] = narration if type(narration) is str else (
        '' if narration is None else _enc_str(narration, 'narration'))
    out['tags'] = enc_tagset(tags) or []
    out['links'] = enc_tagset(links) or []
    out['postings'] = [enc_posting(p) for p in postings]
    return out


def _enc_price(e):
    meta, date, currency, amount = e
    out = {'type': 'Price', 'date': _enc_date_fast(date), 'meta': enc_meta(meta) or {}}
    out['currency'] = currency if type(currency) is str else _enc_str(currency, 'Price.currency')
    out['amount'] = enc_amount(amount)
    return out


_ENCODERS = {data.Transaction: _enc_transaction, data.Price: _enc_price}


def encode_directive(entry):
    """A beancount.core.data directive -> protocol JSON (a dict)."""
    enc = _ENCODERS.get(type(entry))
    if enc is not None:
        return enc(entry)
    spec = _BY_CLASS.get(type(entry))
    if spec is None:
        raise CodecError('not a Beancount directive: {}'.format(type(entry).__name__))
    name, fields = spec
    out = {'type': name, 'date': enc_date(entry.date), 'meta': enc_meta(entry.meta) or {}}
    for jname, pname, enc, _ in fields:
        v = getattr(entry, pname)
        out[jname] = enc(v) if enc else _enc_str(v, '{}.{}'.format(name, jname))
    return out


def _generic_decoder(name):
    """The table-driven decoder of _FIELDS, for the rarer types."""
    cls, fields = _FIELDS[name]
    keys = ('type', 'date', 'meta') + tuple(f[0] for f in fields)
    keyset = frozenset(keys)
    decs = [(jname, dec) for jname, _, _, dec in fields]
    # _FIELDS lists the fields in the namedtuple's own order, after meta and date
    assert cls._fields == ('meta', 'date') + tuple(f[1] for f in fields), name

    def decode(o):
        if type(o) is not dict or o.keys() != keyset:
            _expect_keys(o, keys, name)  # raises
        args = [dec_meta(o['meta']), dec_date(o['date'])]
        for jname, dec in decs:
            args.append(dec(o[jname]) if dec else o[jname])
        return _new(cls, args)
    return decode


_TRANSACTION_KEYS = frozenset(('type', 'date', 'meta') + tuple(f[0] for f in _FIELDS['Transaction'][1]))
_PRICE_KEYS = frozenset(('type', 'date', 'meta') + tuple(f[0] for f in _FIELDS['Price'][1]))
_EMPTY_FROZENSET = frozenset()


def _dec_transaction(o):
    if type(o) is not dict or o.keys() != _TRANSACTION_KEYS:
        _expect_keys(o, tuple(_TRANSACTION_KEYS), 'Transaction')  # raises
    meta = dec_meta(o['meta'])
    date = dec_date(o['date'])
    tags = o['tags']
    tags = _EMPTY_FROZENSET if tags == [] else frozenset(tags)
    links = o['links']
    links = _EMPTY_FROZENSET if links == [] else frozenset(links)
    return _new(data.Transaction, (meta, date, o['flag'], o['payee'], o['narration'], tags, links,
                                   [dec_posting(p) for p in o['postings']]))


def _dec_price(o):
    if type(o) is not dict or o.keys() != _PRICE_KEYS:
        _expect_keys(o, tuple(_PRICE_KEYS), 'Price')  # raises
    meta = dec_meta(o['meta'])
    return _new(data.Price, (meta, dec_date(o['date']), o['currency'], dec_amount(o['amount'])))


# type name -> decoder of a dict whose 'type' is that name; the common types hand-written
_DECODERS = {name: _generic_decoder(name) for name in _FIELDS}
_DECODERS['Transaction'] = _dec_transaction
_DECODERS['Price'] = _dec_price
_decoder_of = _DECODERS.get


def decode_directive(o):
    """Protocol JSON (a dict) -> a beancount.core.data directive."""
    # (an unhashable "type" raises TypeError here, as the original's `in _FIELDS` did)
    decode = _decoder_of(o.get('type')) if isinstance(o, dict) else None
    if decode is None:
        raise CodecError('unknown directive type {!r}'.format(o.get('type') if isinstance(o, dict) else o))
    return decode(o)


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
