"""Marks big spending: a transaction whose postings to Expenses accounts add up to more
than the threshold (the plugin's config, default 250) gets the tag #big-spend and a
`spend-band` metadata string: "1e2", "1e3", ... by the total's power of ten.

A plain Beancount 2 plugin (plugin "benchplugins.tag_spend" "250"); it runs the same
in-process and sandboxed, which is what bench/batch.sh compares.
"""
from decimal import Decimal

from beancount.core import data

__plugins__ = ('tag_spend',)


def tag_spend(entries, options_map, config=None):
    threshold = Decimal(config or '250')
    out = []
    for entry in entries:
        if isinstance(entry, data.Transaction):
            spent = sum((p.units.number for p in entry.postings
                         if p.account.startswith('Expenses:') and p.units is not None and p.units.number is not None),
                        Decimal(0))
            if spent > threshold:
                meta = dict(entry.meta or {})
                meta['spend-band'] = '1e%d' % (len(str(int(spent))) - 1)
                entry = entry._replace(meta=meta, tags=(entry.tags or frozenset()) | {'big-spend'})
        out.append(entry)
    return out, []
