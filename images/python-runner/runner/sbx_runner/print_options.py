"""The ledger's `option` lines for a printed ledger, so that it reads back as it was loaded.

Printed: the options a ledger sets that change how its text parses (account root names,
long strings), how Beancount books and checks it (booking method, tolerances, rounding,
`plugin_processing_mode "raw"`, without which reading it back would run the pad and
balance ops this ledger never ran) or what reports show (title, operating currencies,
commas, the equity accounts), and only where they differ from Beancount's defaults.

Left out, on purpose:
- options whose work the printed directives already hold: `plugin` (the plugins have
  run), `documents` (the Document directives it made are printed; reading the folder again
  would add them twice), `include` (everything included is printed), `insert_pythonpath`
  (it only serves plugins);
- what the loader derives: `filename`, `input_hash`, `dcontext`, `commodities`;
- the deprecated `allow_pipe_separator` and `allow_deprecated_none_for_tags_and_links`;
- the sandbox's own options (`plugin_sandbox`, ...), which Beancount does not keep.
"""
from decimal import Decimal
from enum import Enum

from beancount.parser.options import OPTIONS_DEFAULTS
from beancount.utils.misc_utils import escape_string as esc

PRINTED = (
    'title',
    'name_assets', 'name_liabilities', 'name_equity', 'name_income', 'name_expenses',
    'account_previous_balances', 'account_previous_earnings', 'account_previous_conversions',
    'account_current_earnings', 'account_current_conversions', 'account_rounding',
    'conversion_currency',
    'inferred_tolerance_default', 'inferred_tolerance_multiplier', 'infer_tolerance_from_cost',
    'operating_currency', 'render_commas', 'long_string_maxlines', 'booking_method',
    'plugin_processing_mode',
)


def _text(value):
    """One option value as the option line's string, the way Beancount reads it back."""
    if isinstance(value, bool):
        return 'TRUE' if value else 'FALSE'
    if isinstance(value, Decimal):
        return format(value, 'f')  # str() could print an exponent
    if isinstance(value, Enum):
        return value.name
    return str(value)


def _texts(name, value):
    if name == 'inferred_tolerance_default':
        # one line per currency, "CUR:tolerance"; "*" is the default for all others
        return ['{}:{}'.format(currency, _text(tolerance)) for currency, tolerance in value.items()]
    if name == 'operating_currency':
        return [_text(v) for v in value]
    return [_text(value)]


def option_lines(options_map):
    """The `option "name" "value"` lines (each ended by a newline) for `options_map`."""
    lines = []
    for name in PRINTED:
        default = OPTIONS_DEFAULTS[name]
        value = options_map.get(name, default)
        if value is None or value == default:
            continue
        for text in _texts(name, value):
            lines.append('option "{}" "{}"\n'.format(name, esc(text)))
    return lines
