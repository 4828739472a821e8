"""Checks payee names: no leading, trailing or doubled spaces, no lower-case first
letter, and one spelling per payee (compared without case and punctuation). Reports an
error per offending transaction; the entries go back unchanged.

A plain Beancount 2 plugin (plugin "benchplugins.payee_check"); it runs the same
in-process and sandboxed, which is what bench/batch.sh compares.
"""
import collections
import re

from beancount.core import data

__plugins__ = ('payee_check',)

PayeeError = collections.namedtuple('PayeeError', 'source message entry')

_FOLD = re.compile(r'[^0-9a-z]+')


def payee_check(entries, options_map, config=None):
    errors = []
    spelling = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction) or not entry.payee:
            continue
        payee = entry.payee
        problem = None
        if payee != payee.strip() or '  ' in payee:
            problem = 'stray spaces in payee %r' % payee
        elif payee[0].islower():
            problem = 'payee %r starts in lower case' % payee
        else:
            first = spelling.setdefault(_FOLD.sub('', payee.lower()), payee)
            if first != payee:
                problem = 'payee %r is spelled %r elsewhere' % (payee, first)
        if problem:
            errors.append(PayeeError(entry.meta, problem, entry))
    return entries, errors
