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

# The code of the modules the stages import, in one file (written at image build time by
# images/python-runner/preload/make_preload.py; absent when runner.py runs from a checkout):
# under gVisor each system call traps to the sandbox's kernel, and finding and reading one
# module's bytecode takes 10 to 20 of them.
PRELOAD = os.path.join(HERE, 'preload.bin')


def preload_tag():
    """What the preload's code objects depend on: this interpreter and its optimization level."""
    return (sys.version, sys.implementation.cache_tag, sys.flags.optimize)


def _pread(fd, size, offset):
    """`size` bytes at `offset`, or None when the file is shorter."""
    chunks = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return chunks[0] if len(chunks) == 1 else b''.join(chunks)


def install_preload(path=PRELOAD):
    """Puts a finder before the path finder that serves a preloaded module where, and only
    where, the path finder would have found that very file: a top-level module while
    sys.path, up to the entry it was found in, is as it was at build time; a submodule while
    its parent's __path__ is. The module is what the path finder makes (a SourceFileLoader
    with the same file, spec and attributes) but for its code, taken from the preload.
    The plugin stage's own modules come in the first read; any other is read when imported.
    Without a readable preload of this interpreter, nothing changes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        head = _pread(fd, 16, 0)
        n, core = (int.from_bytes(head[:8], 'big'), int.from_bytes(head[8:], 'big')) if head else (0, 0)
        data = _pread(fd, n + core, 16) if head else None
    finally:
        os.close(fd)
    if data is None:
        return False
    import marshal
    from _frozen_importlib_external import ExtensionFileLoader, PathFinder, SourceFileLoader, spec_from_file_location

    try:
        tag, built_path, index = marshal.loads(memoryview(data)[:n])
    except (EOFError, ValueError, TypeError):
        return False
    if tag != preload_tag():
        return False
    code = memoryview(data)[n:]

    def code_bytes(offset, size):
        if offset + size <= core:
            return code[offset:offset + size]
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            return _pread(fd, size, 16 + n + offset)
        finally:
            os.close(fd)

    class PreloadLoader(SourceFileLoader):
        def get_code(self, fullname):
            entry = index.pop(fullname, None) if fullname == self.name else None
            found = code_bytes(entry[3], entry[4]) if entry is not None else None
            if found is None:  # imported again (a reload), or the preload went: the usual way
                return super().get_code(fullname)
            return marshal.loads(found)

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


def main(argv):
    install_preload()
    from sbx_runner.cli import parse_args
    args = parse_args(argv)
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
