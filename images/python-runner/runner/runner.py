"""sandboxctl's in-container entry point (run as: python3 -I -S /opt/sandboxctl/runner.py STAGE ...).

Stages:
  plugin   --module NAME | [--bundle DIR] --entrypoint PATH [--name NAME]
                                                             run one Beancount plugin (protocol v1)
  load     --ledger PATH [--host-dir DIR] [--session] [--loaded-pickle] [--pickle-on-request]
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


def main(argv):
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
