"""sandboxctl's in-container entry point (run as: python3 -I -S /opt/sandboxctl/runner.py STAGE ...).

Stages:
  plugin   --module NAME | [--bundle DIR] --entrypoint PATH [--name NAME]
                                                             run one Beancount plugin (protocol v1)
  load     --ledger PATH [--host-dir DIR] [--session] [--loaded-pickle]
                                                             parse + book a ledger (trusted); with
                                                             --session, then finalize and print
  finalize                                                   post ops + validation (trusted)
  print    [--display-context]                               directives -> Beancount syntax (trusted)

Exit codes: 0 done; 2 bad usage; 3 protocol error from the host; 4 the stage failed (traceback on stderr).
"""
import os
import sys

# -I -S keep PYTHON* variables, the user's site and .pth files out; add only what we use.
HERE = os.path.dirname(os.path.abspath(__file__))
for p in (HERE, '/usr/lib/python3/dist-packages'):
    if p not in sys.path:
        sys.path.append(p) if p != HERE else sys.path.insert(0, p)

# The code of the modules the stages import, read in one go (written at image build time by
# images/python-runner/preload/make_preload.py): under gVisor each system call traps to the
# sandbox's kernel, and finding and reading a module's bytecode takes 10 to 20 of them.
PRELOAD = os.path.join(HERE, 'preload.bin')


def preload_tag():
    """What the preload's code objects depend on: this interpreter and its optimization level."""
    return (sys.version, sys.implementation.cache_tag, sys.flags.optimize)


def install_preload(path=PRELOAD):
    """Puts a finder before the path finder that serves a preloaded module where, and only
    where, the path finder would have found that very file: a top-level module while
    sys.path, up to the entry it was found in, is as it was at build time; a submodule while
    its parent's __path__ is. The module is what the path finder makes (a SourceFileLoader
    with the same file, spec and attributes) but for its code, taken from the preload.
    Without a readable preload of this interpreter, nothing changes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        size = os.fstat(fd).st_size
        chunks = []
        while size > 0:
            chunk = os.read(fd, size)
            if not chunk:
                return False
            chunks.append(chunk)
            size -= len(chunk)
    finally:
        os.close(fd)
    import marshal
    from _frozen_importlib_external import ExtensionFileLoader, PathFinder, SourceFileLoader, spec_from_file_location

    data = memoryview(chunks[0] if len(chunks) == 1 else b''.join(chunks))
    n = int.from_bytes(data[:8], 'big')
    tag, built_path, index = marshal.loads(data[8:8 + n])
    if tag != preload_tag():
        return False
    code = data[8 + n:]

    class PreloadLoader(SourceFileLoader):
        def get_code(self, fullname):
            entry = index.pop(fullname, None) if fullname == self.name else None
            if entry is None:  # imported again (a reload): the usual way
                return super().get_code(fullname)
            return marshal.loads(code[entry[3]:entry[3] + entry[4]])

    class PreloadFinder:
        @staticmethod
        def find_spec(fullname, path=None, target=None):
            entry = index.get(fullname)
            if entry is None or target is not None:
                return None
            origin, locations, where = entry[:3]
            if path is None:
                if type(where) is not int or sys.path[:where + 1] != built_path[:where + 1]:
                    return None
            elif type(where) is not list or list(path) != where:
                return None
            if entry[3] < 0:  # an extension module: only its place is known
                return spec_from_file_location(fullname, origin, loader=ExtensionFileLoader(fullname, origin),
                                               submodule_search_locations=None)
            return spec_from_file_location(fullname, origin, loader=PreloadLoader(fullname, origin),
                                           submodule_search_locations=locations)

    at = next((i for i, f in enumerate(sys.meta_path) if f is PathFinder), len(sys.meta_path))
    sys.meta_path.insert(at, PreloadFinder)
    return True


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
              '--session': ('session', False), '--loaded-pickle': ('loaded_pickle', False)},
             {'ledger': None, 'host_dir': None, 'session': False, 'loaded_pickle': False}),
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


def parse_args(argv):
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
    sub.add_parser('finalize')
    p = sub.add_parser('print')
    p.add_argument('--display-context', action='store_true',
                   help="format numbers with the ledger's display context, as bean-report print does "
                        '(not exact: 3 USD may print as 3.00 USD)')
    args = parser.parse_args(argv)
    if args.stage == 'plugin' and args.module and args.entrypoint:
        parser.error('give --module or --entrypoint, not both')
    return args


def main(argv):
    install_preload()
    args = _quick_args(argv) or parse_args(argv)
    from sbx_runner.channel import ProtocolError, take_stdout
    channel = take_stdout()
    try:
        if args.stage == 'plugin':
            from sbx_runner import plugin_stage as stage
        elif args.stage == 'load':
            from sbx_runner import load_stage as stage
        elif args.stage == 'finalize':
            from sbx_runner import finalize_stage as stage
        else:
            from sbx_runner import print_stage as stage
        stage.main(channel, args)
        channel.close()
    except ProtocolError as exc:
        sys.stderr.write('sandboxctl runner: protocol error: {}\n'.format(exc))
        sys.stderr.flush()
        os._exit(3)
    except BaseException:  # SystemExit from a plugin ends the run without "done", like Beancount
        import traceback
        traceback.print_exc()
        sys.stderr.write('sandboxctl runner: {} stage failed\n'.format(args.stage))
        sys.stderr.flush()
        os._exit(4)
    sys.stderr.flush()
    # a plugin's threads or atexit hooks must not hold the run open or write after "done"
    os._exit(0)


if __name__ == '__main__':
    main(sys.argv[1:])
