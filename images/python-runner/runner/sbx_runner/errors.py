"""Beancount error namedtuples -> protocol error messages."""
from .codec import encode_source


def error_message(err, index_of=None, with_kind=False):
    """`index_of(entry)` -> input index or None. Beancount errors are (source, message, entry)."""
    source = getattr(err, 'source', None)
    message = getattr(err, 'message', None)
    entry = getattr(err, 'entry', None)
    if message is None:
        message = str(err)
    msg = {'type': 'error', 'message': str(message), 'source': encode_source(source),
           'index': index_of(entry) if (index_of and entry is not None) else None}
    if with_kind:
        msg['kind'] = type(err).__name__
    return msg
