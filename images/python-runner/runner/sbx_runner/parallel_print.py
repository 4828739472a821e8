"""Prints a session's finalized ledger in slices, in worker processes forked before finalize.

Printing a large ledger costs more CPU than finalizing it (finalize_stage), and the one
used to wait for the other. Beancount 2.3.5's post ops (beancount.ops.balance) and its
validation hand back the very objects they were given, except a Balance directive whose
check fails (replaced by a copy). So, when the session has CPUs and memory to spare, it forks
workers before finalize runs, each printing one contiguous slice of finalize's input laid
out as in the whole list (print_stage.print_entries), while the session finalizes. Their text
is used only when finalize's output is, element by element, the very objects its input was
(and the display context the same object); otherwise it is dropped and the output printed
here, as without workers. The bytes are the same either way.

A worker sends its text over a pipe of its own, closes every other descriptor it inherited
(the session's channel among them) and ends with os._exit: nothing it does reaches the
protocol. A worker that fails, or a fork that does, leaves its slice to be printed here.
Every worker is reaped (killed first if still running) before the request ends.

Memory: a worker shares the session's pages until it touches them, and printing touches
(reference counts) every object of its slice, so a worker may copy up to all the session
holds. Workers are forked only when the cgroup's memory limit leaves room for that, counted
at its worst; a limit that cannot be read means no workers.
"""
import bisect
import io
import itertools
import os
import signal
import struct
from operator import is_

from beancount.core import data

from .print_stage import ledger_dcontext, print_entries, print_header, print_ledger

#: fewer directives than this print faster than workers can be forked for them
MIN_ENTRIES = 500
#: workers at most: the session itself finalizes meanwhile
MAX_WORKERS = 3
#: what a worker may allocate besides the pages it copies, per directive it prints (its text,
#: encoded once more), and what the session receives of it
TEXT_BYTES_PER_ENTRY = 2048
#: kept free under the memory limit whatever the estimate says
SLACK_BYTES = 64 << 20

_LENGTH = struct.Struct('<Q')
# a cgroup v1 memory limit this high is no limit (the kernel's is 2**63 less a page)
_NO_LIMIT = 1 << 60


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except (OSError, ValueError):
        return None


def _cpu_quota():
    """The CPUs the cgroup's CFS quota allows (a float), or None when it sets none."""
    try:
        v2 = _read('/sys/fs/cgroup/cpu.max')
        if v2:
            quota, period = (v2.split() + ['100000'])[:2]
            return None if quota == 'max' else int(quota) / int(period)
        for d in ('/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'):
            quota, period = _read(d + '/cpu.cfs_quota_us'), _read(d + '/cpu.cfs_period_us')
            if quota is not None and period is not None:
                quota, period = int(quota), int(period)
                return quota / period if quota > 0 and period > 0 else None
    except (ValueError, ZeroDivisionError):
        pass
    return None


def usable_cpus():
    """The CPUs this process may run on at once: its affinity, capped by the cgroup's quota."""
    try:
        cpus = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cpus = float(os.cpu_count() or 1)
    quota = _cpu_quota()
    return cpus if quota is None else min(cpus, quota)


def memory_room():
    """Bytes the session may still take: its cgroup's memory limit less its usage (page cache
    included), or, under no limit, what the system has available. None when unknown."""
    try:
        limit, usage = _read('/sys/fs/cgroup/memory.max'), _read('/sys/fs/cgroup/memory.current')
        if limit is None:
            limit = _read('/sys/fs/cgroup/memory/memory.limit_in_bytes')
            usage = _read('/sys/fs/cgroup/memory/memory.usage_in_bytes')
        if limit is not None and limit != 'max' and int(limit) < _NO_LIMIT:
            return int(limit) - int(usage) if usage is not None else None
        if limit is None:
            return None
        meminfo = _read('/proc/meminfo') or ''
        for line in meminfo.splitlines():
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) * 1024
    except ValueError:
        pass
    return None


def _resident():
    """This process's resident memory in bytes, or None."""
    statm = _read('/proc/self/statm')
    try:
        return int(statm.split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (AttributeError, IndexError, ValueError, OSError):
        return None


def plan_workers(count, min_entries=None):
    """How many workers to fork for printing `count` directives: 0 (print here, after
    finalize) below `min_entries` (MIN_ENTRIES), with fewer than 2 usable CPUs (the workers
    would only take turns with the session), or without room under the memory limit for each
    worker to copy all the session holds."""
    if count < max(MIN_ENTRIES if min_entries is None else min_entries, 1):
        return 0
    cpus = int(usable_cpus() + 0.5)
    if cpus < 2:
        return 0
    room, resident = memory_room(), _resident()
    if room is None or resident is None:
        return 0
    n = min(MAX_WORKERS, cpus)
    while n > 0 and n * resident + count * TEXT_BYTES_PER_ENTRY + SLACK_BYTES > room:
        n -= 1
    return n


def slice_bounds(entries, n):
    """min(n, len(entries)) contiguous (start, stop) slices covering `entries`, none empty, of
    about equal printing cost (a transaction's grows with its postings)."""
    count = len(entries)
    n = min(n, count)
    if n <= 0:
        return []
    # cum[i]: the cost of entries[:i]
    cum = list(itertools.accumulate(
        (2 + len(e.postings or ()) if type(e) is data.Transaction else 1 for e in entries), initial=0))
    cuts = [0]
    for k in range(1, n):
        cut = bisect.bisect_left(cum, cum[-1] * k / n)
        cuts.append(min(max(cut, cuts[-1] + 1), count - (n - k)))
    cuts.append(count)
    return list(zip(cuts, cuts[1:]))


def _write_all(fd, buf):
    view = memoryview(buf)
    while view:
        view = view[os.write(fd, view):]


def _close_inherited(keep):
    """Closes every descriptor above stderr but `keep`: the session's channel, its stdin copy,
    the other workers' pipes."""
    try:
        fds = [int(name) for name in os.listdir('/proc/self/fd')]
    except (OSError, ValueError):
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 16)
        return
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _worker(w, entries, dcontext, start, stop):
    """In the forked child: prints entries[start:stop] to pipe `w` (its length first); never returns."""
    code = 1
    try:
        _close_inherited(w)
        try:
            # under memory pressure the kernel kills a worker before the session
            with open('/proc/self/oom_score_adj', 'w') as f:
                f.write('1000')
        except OSError:
            pass
        buf = io.StringIO()
        print_entries(entries, dcontext, buf, start, stop)
        text = buf.getvalue().encode('utf-8', 'surrogatepass')
        del buf
        _write_all(w, _LENGTH.pack(len(text)))
        _write_all(w, text)
        code = 0
    except BaseException:  # noqa: B036 - the parent prints this slice itself
        pass
    finally:
        os._exit(code)


class _Slice:
    def __init__(self, start, stop):
        self.start, self.stop = start, stop
        self.pid = None  # the worker printing it, until reaped
        self.fd = None  # the read end of its pipe

    def reap(self, kill):
        """Closes the pipe, kills the worker if `kill`, waits for it; its exit code (None: none)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.pid is None:
            return None
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            status = None
        self.pid = None
        return None if status is None else os.waitstatus_to_exitcode(status)

    def result(self):
        """The worker's text, or None when it failed (then it is reaped all the same)."""
        chunks = []
        try:
            while True:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            self.reap(True)
            return None
        payload = b''.join(chunks)
        del chunks
        code = self.reap(False)
        if code != 0 or len(payload) < _LENGTH.size or _LENGTH.unpack_from(payload)[0] != len(payload) - _LENGTH.size:
            return None
        return payload[_LENGTH.size:].decode('utf-8', 'surrogatepass')


class Printing:
    """The print of one finalize request: workers started on its input, if any."""

    def __init__(self, entries, options_map, display_context):
        self._entries = entries
        self._options_map = options_map
        self._display_context = display_context
        self._dcontext = ledger_dcontext(options_map, display_context)
        self._slices = []
        #: workers forked, and slices whose worker's text made the output (for tests and benches)
        self.forked = 0
        self.used = 0

    def _fork(self, bounds):
        self._slices = [_Slice(start, stop) for start, stop in bounds]
        for s in self._slices:
            try:
                r, w = os.pipe()
            except OSError:
                return
            try:
                pid = os.fork()
            except OSError:
                os.close(r)
                os.close(w)
                return  # this slice and those after it are printed here
            if pid == 0:
                _worker(w, self._entries, self._dcontext, s.start, s.stop)
            os.close(w)
            s.pid, s.fd = pid, r
            self.forked += 1

    def text(self, outputs):
        """The printed ledger of `outputs` (finalize's output): the workers' slices when they
        printed these very directives, else printed here."""
        entries = self._entries
        dcontext = ledger_dcontext(self._options_map, self._display_context)
        same = (self.forked and dcontext is self._dcontext and len(outputs) == len(entries)
                and all(map(is_, outputs, entries)))
        buf = io.StringIO()
        if not same:
            self.close()  # the workers' CPU is the session's now
            print_ledger(outputs, self._options_map, self._display_context, buf)
            return buf.getvalue()
        print_header(self._options_map, buf)
        for s in self._slices:
            part = s.result() if s.pid is not None else None
            if part is None:
                print_entries(entries, dcontext, buf, s.start, s.stop)
            else:
                buf.write(part)
                self.used += 1
        return buf.getvalue()

    def close(self):
        """Kills and reaps every worker still there; safe to call again."""
        for s in self._slices:
            if s.pid is not None or s.fd is not None:
                s.reap(True)


def start(entries, options_map, display_context, min_entries=None, workers=None):
    """Starts printing `entries` (finalize's input): forks the workers planned for them
    (plan_workers), or exactly `workers` (tests and benches), or none. Call .text(outputs)
    after finalize, and .close() in any case."""
    p = Printing(entries, options_map, display_context)
    n = plan_workers(len(entries), min_entries) if workers is None else min(workers, len(entries))
    if n > 0:
        p._fork(slice_bounds(entries, n))
    return p
