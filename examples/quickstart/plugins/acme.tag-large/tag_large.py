"""Tag transactions whose largest posting is above a threshold with #large.

A plain Beancount 2 plugin: it knows nothing about sandboxes.
    plugin "acme.tag-large" "200"
"""
from decimal import Decimal

from beancount.core import data

__plugins__ = ('tag_large',)


def tag_large(entries, options_map, config='1000'):
    threshold = Decimal(config)
    out = []
    for entry in entries:
        if isinstance(entry, data.Transaction) and any(
                p.units is not None and p.units.number is not None and abs(p.units.number) > threshold
                for p in entry.postings):
            entry = entry._replace(tags=(entry.tags or frozenset()) | {'large'})
        out.append(entry)
    return out, []
