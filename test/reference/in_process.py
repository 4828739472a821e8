"""Beancount run in-process, the way users run it today: the reference sandboxctl is
compared with. Loads a ledger with beancount.loader (plugins run in this process) and
prints, as JSON lines, every directive in protocol v1 form and every error.

Usage: python3 in_process.py LEDGER
Run in the Python runner image (Debian's python3-beancount 2.3.5; the parity suite does so,
see test/integration/helpers/parity-reference.ts), or anywhere Beancount 2.3.5 imports.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# the codec: the runner image's copy (/opt/sandboxctl), else the checkout's
sys.path[:0] = ['/opt/sandboxctl', os.path.join(HERE, '..', '..', 'images', 'python-runner', 'runner')]
os.environ['BEANCOUNT_DISABLE_LOAD_CACHE'] = '1'

from beancount import loader  # noqa: E402
from sbx_runner.codec import encode_directive, encode_source  # noqa: E402


def main(path):
    entries, errors, _ = loader.load_file(path)
    out = sys.stdout
    for e in entries:
        out.write(json.dumps({'directive': encode_directive(e)}, sort_keys=True) + '\n')
    for err in errors:
        out.write(json.dumps({'error': {'message': str(err.message), 'source': encode_source(err.source)}}, sort_keys=True) + '\n')


if __name__ == '__main__':
    main(sys.argv[1])
