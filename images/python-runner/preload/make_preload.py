"""Writes /opt/sandboxctl/preload.bin at image build time (python3 -I -S -B make_preload.py).

A plugin container starts a fresh interpreter, and under gVisor (ptrace) each system call
traps to the sandbox's kernel: finding and reading one module's bytecode takes 10 to 20 of
them (a stat per sys.path directory, open, fstat, ioctl, lseek, read, close). The preload
file holds the code of every pure-Python module the runner's stages, Beancount's loader and
its builtin plugins import, exactly as the path finder would find it on this image, and
where their extension modules are; runner.py (install_preload) serves those modules from it
and leaves every other import to the usual machinery. The modules a plugin container
imports before its plugin come first, read at start in one go; the others are read when
imported.

Format: 16 bytes (big-endian: the header's length n, the first region's length), the header
(marshal), the code objects (marshal, one after another; the plugin stage's first). Header:
(tag, sys.path, {module name: (origin file, package directories or None, where, offset,
size)}), where `where` is, for a top-level module, the index of the sys.path entry it was
found in, and for a submodule its parent's __path__; offsets count from the end of the
header; an extension module (a .so file, loaded from its file as always) has offset -1.

This must be the last build step that adds or changes Python files (it trusts the image's
files not to change afterwards, as the unchecked-hash bytecode of compileall does).
"""
import importlib
import marshal
import os
import subprocess
import sys
from importlib.machinery import ExtensionFileLoader, SourceFileLoader

RUNNER = '/opt/sandboxctl'
OUT = os.path.join(RUNNER, 'preload.bin')

# the runner's own sys.path set-up, as `python3 -I -S -B /opt/sandboxctl/runner.py` runs it
# (with no preload file yet: every module here is found the usual way)
if os.path.exists(OUT):
    os.remove(OUT)
SETUP = 'import sys; sys.path.insert(0, {!r}); import runner; '.format(RUNNER)
sys.path.insert(0, RUNNER)
import runner  # noqa: E402  (its top level sets sys.path up; main() does not run)

# what a plugin container imports before its plugin (read at start)
PLUGIN_STAGE = ['sbx_runner.cli', 'sbx_runner.channel', 'sbx_runner.plugin_stage']
# and what the other stages import, what the stages import later (errors, argparse for an
# unusual command line), and every plugin that ships in Beancount (`--module beancount.plugins.X`)
LATER = ['sbx_runner.load_stage', 'sbx_runner.finalize_stage', 'sbx_runner.print_stage', 'sbx_runner.session',
         'sbx_runner.loaded', 'sbx_runner.parallel_print', 'beancount.loader', 'traceback', 'argparse']


def imported_by(code):
    """The modules a fresh `python3 -I -S -B` holds after running `code`."""
    out = subprocess.run([sys.executable, '-I', '-S', '-B', '-c', code + 'print(*sys.modules)'],
                         check=True, capture_output=True, text=True).stdout
    return set(out.split())


def builtin_plugins():
    import pkgutil

    import beancount.plugins
    return sorted('beancount.plugins.' + m.name for m in pkgutil.iter_modules(beancount.plugins.__path__)
                  if not m.name.endswith('_test'))


def where_found(name, spec):
    """The sys.path index (top-level) or the parent's __path__ (submodule) it was found in."""
    parent = name.rpartition('.')[0]
    if parent:
        return list(sys.modules[parent].__path__)
    # the first entry whose directory holds the module, as PathFinder searches them
    base = os.path.dirname(os.path.dirname(spec.origin)) if spec.submodule_search_locations else os.path.dirname(spec.origin)
    for i, entry in enumerate(sys.path):
        if os.path.abspath(entry or '.') == base:
            return i
    return None


def main():
    # imported before runner.py runs (never served), and imported by the plugin stage
    startup = imported_by('import sys; ') | {'runner', '__main__'}
    first = imported_by(SETUP + ''.join('import {}; '.format(m) for m in PLUGIN_STAGE))
    skipped = []
    for name in PLUGIN_STAGE + LATER + builtin_plugins():
        try:
            importlib.import_module(name)
        except Exception as exc:  # a builtin that cannot import here is left to the usual path
            skipped.append('{} ({})'.format(name, type(exc).__name__))
    index, regions = {}, ([], [])
    for name, module in sorted(sys.modules.items()):
        spec = getattr(module, '__spec__', None)
        # only what FileFinder found: a source file, or an extension module (whose place only
        # is recorded, saving the search; it is loaded from its file as always)
        if name in startup or spec is None or not spec.has_location \
                or type(spec.loader) not in (SourceFileLoader, ExtensionFileLoader):
            continue
        where = where_found(name, spec)
        if where is None:
            skipped.append('{} (not on sys.path)'.format(name))
            continue
        if type(spec.loader) is ExtensionFileLoader:
            if spec.submodule_search_locations is None:
                index[name] = (spec.origin, None, where, -1, 0)
            continue
        pkg = list(spec.submodule_search_locations) if spec.submodule_search_locations is not None else None
        regions[name not in first].append((name, spec.origin, pkg, where, marshal.dumps(spec.loader.get_code(name))))
    offset = 0
    for region in regions:
        for name, origin, pkg, where, code in region:
            index[name] = (origin, pkg, where, offset, len(code))
            offset += len(code)
    core = sum(len(r[-1]) for r in regions[0])
    header = marshal.dumps((runner.preload_tag(), list(sys.path), index))
    tmp = OUT + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(len(header).to_bytes(8, 'big') + core.to_bytes(8, 'big'))
        f.write(header)
        for region in regions:
            f.writelines(r[-1] for r in region)
    os.chmod(tmp, 0o644)
    os.replace(tmp, OUT)
    print('preload: {} modules ({} read at start), {} + {} bytes of code{}'.format(
        len(index), len(regions[0]), core, offset - core, '; skipped: ' + ', '.join(skipped) if skipped else ''))


if __name__ == '__main__':
    main()
