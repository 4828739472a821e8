"""The rest of a trusted loader session: after the loader's "done", the host sends the
chain's result as references into what was loaded plus the directives plugins made or
changed; this stage runs Beancount's post-plugin ops and validation on it (finalize_stage)
and, when asked, prints it (print_stage). Nothing the loader made is decoded again.

Host -> stage (stdin), once; end of input instead means there is nothing to finalize:
  {"type":"finalize", "count":N, "print":bool, "display_context":bool}
  {"type":"refs", "index":k, "from":i, "count":n}  k..k+n-1 are the loader's i..i+n-1, unchanged
  {"type":"directive", "index":k, "directive":D}    any other directive (protocol v1 JSON)
  {"type":"end"}
Stage -> host: what a plugin sends about its input (keep, modify, insert, delete, error
with "kind", done), then, when printing, {"type":"text","text":s}... and {"type":"end"}.
"""
import io
import sys

from .channel import ProtocolError, read_lines
from .codec import decode_directive, encode_directive
from .effects import compute_effects
from .finalize_stage import finalize, send_answer
from .print_stage import print_ledger

TEXT_CHUNK = 1 << 20


def read_request(stream, loaded):
    """Reads the finalize request. Returns (request, directives) or None at end of input."""
    lines = read_lines(stream)
    try:
        n, req = next(lines)
    except StopIteration:
        return None
    if req['type'] != 'finalize':
        raise ProtocolError('line {}: expected "finalize", found type {!r}'.format(n, req['type']))
    count = req.get('count')
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ProtocolError('finalize: "count" must be a non-negative integer')
    out = []
    for n, msg in lines:
        if msg['type'] == 'end':
            if len(out) != count:
                raise ProtocolError('line {}: end after {} directives, expected {}'.format(n, len(out), count))
            return req, out
        if msg['type'] not in ('directive', 'refs') or msg.get('index') != len(out):
            raise ProtocolError('line {}: expected directive {}'.format(n, len(out)))
        if msg['type'] == 'refs':
            start, run = msg.get('from'), msg.get('count')
            if not (_is_int(start) and _is_int(run) and run > 0 and 0 <= start
                    and start + run <= len(loaded)):
                raise ProtocolError('line {}: refs {!r}+{!r} are not loaded directives'.format(n, start, run))
            if len(out) + run > count:
                raise ProtocolError('line {}: more than the {} directives announced'.format(n, count))
            out.extend(loaded[start:start + run])
        else:
            out.append(decode_directive(msg['directive']))
    raise ProtocolError('input ended inside the finalize request')


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class _Unchanged:
    """Beancount's post ops replace what they change and never edit an entry in place, so
    an output that is an input object is that input, unchanged: no snapshot is needed."""

    def __init__(self, count):
        self._count = count

    def untouched(self):
        return [True] * self._count


class _Encoded:
    """Inputs' JSON, made only for the few an output may be a copy of."""

    def __init__(self, entries):
        self._entries = entries

    def __getitem__(self, i):
        return encode_directive(self._entries[i])


def serve(channel, loaded, options_map, args):
    got = read_request(sys.stdin.buffer, loaded)
    if got is None:
        return
    req, inputs = got
    outputs, errors = finalize(list(inputs), options_map)
    send_answer(channel, compute_effects(inputs, _Encoded(inputs), outputs, _Unchanged(len(inputs))), inputs, errors)
    if req.get('print'):
        buf = io.StringIO()
        print_ledger(outputs, options_map, req.get('display_context'), buf)
        text = buf.getvalue()
        for k in range(0, len(text), TEXT_CHUNK):
            channel.send({'type': 'text', 'text': text[k:k + TEXT_CHUNK]})
        channel.send({'type': 'end'})
