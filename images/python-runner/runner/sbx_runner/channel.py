"""The protocol channel: a private copy of the real stdout, and JSON-lines framing.

Plugin code shares this process, so fd 1 and sys.stdout are pointed at stderr: a plugin
that prints (or writes to fd 1) only adds to the log and cannot corrupt the protocol.
"""
import json
import os
import sys
from json.decoder import JSONDecoder


class ProtocolError(Exception):
    """The host sent something protocol v1 does not allow."""


class Channel:
    def __init__(self, out_fd):
        self._out = os.fdopen(out_fd, 'wb', buffering=1 << 16)

    def send(self, msg):
        line = json.dumps(msg, ensure_ascii=False, separators=(',', ':'), allow_nan=False)
        self._out.write(line.encode('utf-8'))
        self._out.write(b'\n')

    def write_text(self, text):
        self._out.write(text.encode('utf-8'))

    def flush(self):
        self._out.flush()

    def close(self):
        self._out.flush()
        self._out.close()


def take_stdout():
    """Moves the real stdout to a private fd (not inherited by children) and returns a Channel."""
    sys.stdout.flush()
    private = os.dup(1)  # dup() makes a non-inheritable fd
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(private)


def _read_lines_checked(stream, start):
    """read_lines, line by line through json.loads, its lines numbered from `start`."""
    for n, raw in enumerate(stream, start):
        if not raw.endswith(b'\n'):
            raise ProtocolError('line {}: not terminated by a newline (input cut short?)'.format(n))
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise ProtocolError('line {}: not valid JSON: {}'.format(n, exc)) from exc
        if not isinstance(obj, dict) or not isinstance(obj.get('type'), str):
            raise ProtocolError('line {}: expected an object with a "type"'.format(n))
        yield n, obj


# json.loads(raw) without its per-call overhead (encoding detection, two whitespace regex
# matches, three Python calls): a decoder with json's default settings, whose scanner is
# called directly. Only ever used where the result is sure to be json.loads' own.
_scan_once = JSONDecoder().scan_once


def read_lines(stream):
    """Yields (line number, parsed JSON object) from a binary stream; bad lines are errors.

    A line that is bytes, starts with '{' followed by a non-NUL byte (so json.detect_encoding
    says UTF-8, with no BOM), and scans as one JSON value ending right before its final
    newline, is what json.loads would return: it is taken as scanned. Anything else (including
    every error) goes through _read_lines_checked, so every error reads as it always did.
    """
    for n, raw in enumerate(stream, 1):
        if type(raw) is bytes and raw[:1] == b'{' and raw[1:2] != b'\0' and raw[-1:] == b'\n':
            try:
                s = raw.decode('utf-8', 'surrogatepass')
                obj, end = _scan_once(s, 0)
            except Exception:  # the slow path below says what is wrong, as before
                obj = end = None
            # the last character is the newline, whitespace json.loads skips at the end
            if end is not None and end == len(s) - 1 and type(obj) is dict and type(obj.get('type')) is str:
                yield n, obj
                continue
        yield from _read_lines_checked((raw,), n)


def _read_header(it):
    try:
        n, header = next(it)
    except StopIteration:
        raise ProtocolError('no input: expected a header line') from None
    if header['type'] != 'header' or header.get('protocol') != 1:
        raise ProtocolError('line {}: expected a protocol 1 header, found type {!r}'.format(
            n, header['type']))
    count = header.get('count')
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ProtocolError('header: "count" must be a non-negative integer')
    return header, count


def read_stream(stream):
    """Reads header, directives and end. Returns (header, [directive JSON])."""
    header, directives, _ = read_input(stream, None)
    return header, directives


def read_input(stream, loaded_input):
    """A plugin's input: header, directives and end, or, when `loaded_input` is given and a
    "loaded" message follows the header, its "refs" and directives (docs/protocol.md, "Input
    encodings"). Returns (header, items, loaded): items are directive JSON, and with `loaded`
    (loaded_input(msg, line)) also indices into it; each loaded directive is referred to once."""
    it = read_lines(stream)
    header, count = _read_header(it)
    items = []
    loaded = None
    used = None
    for n, msg in it:
        t = msg['type']
        if t == 'end':
            if len(items) != count:
                raise ProtocolError('line {}: end after {} directives, header said {}'.format(
                    n, len(items), count))
            # not reading on: the host may keep stdin open after "end"
            return header, items, loaded
        if t == 'loaded' and n == 2 and loaded_input is not None:
            loaded = loaded_input(msg, n)
            used = bytearray(loaded.count)
            continue
        if t == 'refs' and loaded is not None and msg.get('index') == len(items):
            start, run = msg.get('from'), msg.get('count')
            if not (_is_int(start) and _is_int(run) and run > 0 and 0 <= start and start + run <= loaded.count):
                raise ProtocolError('line {}: refs {!r}+{!r} are not loaded directives'.format(n, start, run))
            if len(items) + run > count or any(used[start:start + run]):
                raise ProtocolError('line {}: refs {}+{} go past the header\'s count or repeat a loaded directive'.format(
                    n, start, run))
            used[start:start + run] = b'\x01' * run
            items.extend(range(start, start + run))
            continue
        if t != 'directive' or msg.get('index') != len(items):
            raise ProtocolError('line {}: expected directive {}, found type {!r} index {!r}'.format(
                n, len(items), t, msg.get('index')))
        items.append(msg['directive'])
    raise ProtocolError('input ended without an "end" line (after {} directives)'.format(len(items)))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)
