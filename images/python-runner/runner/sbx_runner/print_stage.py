"""Prints directives in Beancount syntax (beancount.parser.printer), with every string escaped.

Beancount 2.3.5's printer escapes quotes and backslashes only in payee, narration and
string metadata; Note comments, Document filenames, Event, Query and Custom strings are
written raw, so a '"' in them would change what the printed ledger parses to. The
subclass below escapes those too.
"""
import io
import re
import sys
from decimal import Decimal

from beancount.core import account, amount, data
from beancount.parser import printer
from beancount.utils.misc_utils import escape_string as esc

from .channel import read_stream
from .codec import decode_directive
from .options_codec import decode_options
from .print_options import option_lines


# what the lexer reads as a metadata key; internal keys like __implicit_prices__ are skipped
_KEY_RE = re.compile(r'[a-z][a-zA-Z0-9\-_]*\Z')


class SafePrinter(printer.EntryPrinter):
    def write_metadata(self, meta, oss, prefix=None):
        if meta is not None:
            meta = {k: v for k, v in meta.items() if _KEY_RE.match(k)}
        super().write_metadata(meta, oss, prefix)

    def Note(self, entry, oss):
        oss.write('{} note {} "{}"\n'.format(entry.date, entry.account, esc(entry.comment)))
        self.write_metadata(entry.meta, oss)

    def Document(self, entry, oss):
        oss.write('{} document {} "{}"'.format(entry.date, entry.account, esc(entry.filename)))
        tags = ['#' + t for t in sorted(entry.tags or ())] + ['^' + l for l in sorted(entry.links or ())]
        if tags:
            oss.write(' ' + ' '.join(tags))
        oss.write('\n')
        self.write_metadata(entry.meta, oss)

    def Event(self, entry, oss):
        oss.write('{} event "{}" "{}"\n'.format(entry.date, esc(entry.type), esc(entry.description)))
        self.write_metadata(entry.meta, oss)

    def Query(self, entry, oss):
        oss.write('{} query "{}" "{}"\n'.format(entry.date, esc(entry.name), esc(entry.query_string)))
        self.write_metadata(entry.meta, oss)

    def Custom(self, entry, oss):
        values = []
        for value, dtype in entry.values:
            if dtype is account.TYPE or dtype == account.TYPE:
                values.append(value)
            elif isinstance(value, str):
                values.append('"{}"'.format(esc(value)))
            elif isinstance(value, bool):
                values.append('TRUE' if value else 'FALSE')
            elif isinstance(value, amount.Amount):
                values.append(value.to_string())
            elif isinstance(value, Decimal):
                values.append(format(value, 'f'))  # str() could print an exponent the lexer rejects
            else:
                values.append(value.isoformat())
        oss.write('{} custom "{}" {}\n'.format(entry.date, esc(entry.type), ' '.join(values)))
        self.write_metadata(entry.meta, oss)


def print_entries(entries, dcontext, out, start=0, stop=None):
    """Same layout as printer.print_entries, with SafePrinter. With `start` and `stop`, only
    entries[start:stop], laid out as in the whole list: the texts of consecutive slices,
    joined, are the whole list's text (parallel_print.py prints slices in other processes)."""
    eprinter = SafePrinter(dcontext, False)
    stop = len(entries) if stop is None else min(stop, len(entries))
    if start >= stop:
        return
    # a blank line before a directive of another type than the one before it (and before
    # each Transaction and Commodity); the first directive of all follows no other type
    previous_type = type(entries[start - 1] if start > 0 else entries[0])
    for i in range(start, stop):
        entry = entries[i]
        entry_type = type(entry)
        if entry_type in (data.Transaction, data.Commodity) or entry_type is not previous_type:
            out.write('\n')
            previous_type = entry_type
        out.write(eprinter(entry))


def ledger_dcontext(options_map, display_context):
    """The display context numbers print with: none (exact) unless `display_context`."""
    return options_map.get('dcontext') if display_context else None


def print_header(options_map, out):
    """What a printed ledger starts with: its option lines (print_options.py), then a blank line."""
    lines = option_lines(options_map)
    if lines:
        out.writelines(lines)
        out.write('\n')


def print_ledger(entries, options_map, display_context, out):
    """The ledger's option lines (print_options), then its directives. Numbers print as they
    are unless `display_context`: the ledger's display context would round 3 to 3.00, and the
    printed ledger would no longer parse back to the same directives."""
    print_header(options_map, out)
    print_entries(entries, ledger_dcontext(options_map, display_context), out)


def main(channel, args):
    header, directives_json = read_stream(sys.stdin.buffer)
    options_map = decode_options(header.get('options') or {})
    entries = [decode_directive(d) for d in directives_json]
    buf = io.StringIO()
    print_ledger(entries, options_map, args.display_context, buf)
    channel.write_text(buf.getvalue())
