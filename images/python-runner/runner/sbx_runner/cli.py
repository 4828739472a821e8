"""runner.py's command line: the stage and its options (runner.py's docstring lists them).

One table, OPTIONS, says what each stage takes. The host always passes plain forms
(`--opt value`, `--flag`), and _quick_args reads those with the table alone: importing
argparse (and the gettext, locale and shutil it uses for help text) costs more than the
whole plugin stage on a small ledger under gVisor. Anything else (errors, --help,
--opt=value, abbreviations, repeats, values that start with '-') goes to an argparse parser
built from the same table, which reads plain forms the same way.
"""

# stage -> [(flag, takes a value, default, required, help)]; the attribute is the flag's name
OPTIONS = {
    'plugin': [
        ('--module', True, None, False, 'an installed module, e.g. beancount.plugins.implicit_prices'),
        ('--bundle', True, '/plugin', False, 'the bundle directory (default /plugin)'),
        ('--entrypoint', True, None, False, "the bundle's .py file or package directory, relative to --bundle"),
        ('--name', True, None, False, 'the plugin name (its module name); given, the plugin is imported '
                                      'before the input arrives; else the header names it'),
    ],
    'load': [
        ('--ledger', True, None, True, 'absolute path of the ledger file'),
        ('--host-dir', True, None, False, "the host directory mounted at the ledger's directory: "
                                          'filenames are reported as host paths'),
        ('--session', False, False, False, 'after loading, finalize (and print) the chain result the host sends'),
        ('--loaded-pickle', False, False, False,
         'also send the directives as one pickle for Python plugin runners (sbx_runner/loaded.py)'),
        ('--pickle-on-request', False, False, False,
         'with --session: before "done", read the host\'s {"type":"load","pickle":bool} line'),
    ],
    'finalize': [],
    'print': [
        ('--display-context', False, False, False,
         "format numbers with the ledger's display context, as bean-report print does "
         '(not exact: 3 USD may print as 3.00 USD)'),
    ],
}


def _attr(flag):
    return flag[2:].replace('-', '_')


def _conflict(args):
    """What argparse alone cannot say: the plugin stage takes --module or --entrypoint, not both."""
    return args.stage == 'plugin' and args.module and args.entrypoint


class Args:
    """The parsed command line (argparse's Namespace, without importing argparse)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _quick_args(argv):
    """An Args for a plain, valid command line; None for anything argparse must judge."""
    if not argv or argv[0] not in OPTIONS:
        return None
    options = {o[0]: o for o in OPTIONS[argv[0]]}
    values = {_attr(o[0]): o[2] for o in OPTIONS[argv[0]]}
    values['stage'] = argv[0]
    seen = set()
    i = 1
    while i < len(argv):
        opt = options.get(argv[i])
        if opt is None or opt[0] in seen:
            return None
        seen.add(opt[0])
        if opt[1]:
            if i + 1 >= len(argv) or argv[i + 1].startswith('-'):
                return None
            values[_attr(opt[0])] = argv[i + 1]
            i += 2
        else:
            values[_attr(opt[0])] = True
            i += 1
    if any(o[3] and o[0] not in seen for o in options.values()):
        return None
    args = Args(**values)
    return None if _conflict(args) else args


def _argparse_args(argv):
    import argparse
    parser = argparse.ArgumentParser(prog='runner.py')
    sub = parser.add_subparsers(dest='stage', required=True)
    for stage, options in OPTIONS.items():
        p = sub.add_parser(stage)
        for flag, takes_value, default, required, help_text in options:
            if takes_value:
                p.add_argument(flag, default=default, required=required, help=help_text)
            else:
                p.add_argument(flag, action='store_true', help=help_text)
    args = parser.parse_args(argv)
    if _conflict(args):
        parser.error('give --module or --entrypoint, not both')
    return args


def parse_args(argv):
    """The stage and its options, as argparse reads them (argparse exits 2 on bad usage)."""
    return _quick_args(argv) or _argparse_args(argv)
