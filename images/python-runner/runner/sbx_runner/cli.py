"""runner.py's command line: the stage and its options (runner.py's docstring lists them)."""

# What the host passes, by stage: each option's attribute and whether it takes a value,
# with the defaults argparse gives. _quick_args reads argv with these when it is in one
# of these plain forms and leaves everything else (errors, --help, --opt=value,
# abbreviations, repeats, values that start with '-') to argparse, which reads plain forms
# the same way: importing argparse (and the gettext, locale and shutil it uses for help
# text) costs more than the whole plugin stage on a small ledger under gVisor.
_QUICK = {
    'plugin': ({'--module': ('module', True), '--bundle': ('bundle', True),
                '--entrypoint': ('entrypoint', True), '--name': ('name', True)},
               {'module': None, 'bundle': '/plugin', 'entrypoint': None, 'name': None}),
    'load': ({'--ledger': ('ledger', True), '--host-dir': ('host_dir', True),
              '--session': ('session', False), '--loaded-pickle': ('loaded_pickle', False),
              '--pickle-on-request': ('pickle_on_request', False)},
             {'ledger': None, 'host_dir': None, 'session': False, 'loaded_pickle': False,
              'pickle_on_request': False}),
    'finalize': ({}, {}),
    'print': ({'--display-context': ('display_context', False)}, {'display_context': False}),
}


class Args:
    """The parsed command line (argparse's Namespace, without importing argparse)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _quick_args(argv):
    """An Args for a plain, valid command line; None for anything argparse must judge."""
    if not argv or argv[0] not in _QUICK:
        return None
    options, defaults = _QUICK[argv[0]]
    values = dict(defaults, stage=argv[0])
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
            values[opt[0]] = argv[i + 1]
            i += 2
        else:
            values[opt[0]] = True
            i += 1
    if argv[0] == 'load' and values['ledger'] is None:
        return None
    if argv[0] == 'plugin' and values['module'] and values['entrypoint']:
        return None
    return Args(**values)


def _argparse_args(argv):
    import argparse
    parser = argparse.ArgumentParser(prog='runner.py')
    sub = parser.add_subparsers(dest='stage', required=True)
    p = sub.add_parser('plugin')
    p.add_argument('--module', help='an installed module, e.g. beancount.plugins.implicit_prices')
    p.add_argument('--bundle', default='/plugin', help='the bundle directory (default /plugin)')
    p.add_argument('--entrypoint', help="the bundle's .py file or package directory, relative to --bundle")
    p.add_argument('--name', help='the plugin name (its module name); given, the plugin is imported '
                                  'before the input arrives; else the header names it')
    p = sub.add_parser('load')
    p.add_argument('--ledger', required=True, help='absolute path of the ledger file')
    p.add_argument('--host-dir', help="the host directory mounted at the ledger's directory: "
                                      'filenames are reported as host paths')
    p.add_argument('--session', action='store_true',
                   help='after loading, finalize (and print) the chain result the host sends')
    p.add_argument('--loaded-pickle', action='store_true',
                   help='also send the directives as one pickle for Python plugin runners (sbx_runner/loaded.py)')
    p.add_argument('--pickle-on-request', action='store_true',
                   help='with --session: before "done", read the host\'s {"type":"load","pickle":bool} line')
    sub.add_parser('finalize')
    p = sub.add_parser('print')
    p.add_argument('--display-context', action='store_true',
                   help="format numbers with the ledger's display context, as bean-report print does "
                        '(not exact: 3 USD may print as 3.00 USD)')
    args = parser.parse_args(argv)
    if args.stage == 'plugin' and args.module and args.entrypoint:
        parser.error('give --module or --entrypoint, not both')
    return args


def parse_args(argv):
    """The stage and its options, as argparse reads them (argparse exits 2 on bad usage)."""
    return _quick_args(argv) or _argparse_args(argv)
