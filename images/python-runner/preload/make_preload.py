"""Writes /opt/sandboxctl/preload.bin at image build time (python3 -I -S -B make_preload.py).

A plugin container starts a fresh interpreter, and under gVisor (ptrace) each system call
traps to the sandbox's kernel: finding and reading one module's bytecode takes 10 to 20 of
them (a stat per sys.path directory, open, fstat, ioctl, lseek, read, close), about 1 ms per
module. The preload file holds, in one file read once, the code of every pure-Python module
the runner's stages, Beancount's loader and its builtin plugins import, exactly as the path
finder would find it on this image, and where their extension modules are; runner.py serves those modules from it
(runner.py, _PreloadFinder) and leaves every other import to the usual machinery.

Format: 8 bytes (big-endian length of the header), the header (marshal), the code objects
(marshal, one after another). Header: (tag, sys.path, {module name: (origin file, package
directories or None, where, offset, size)}), where `where` is, for a top-level module, the
index of the sys.path entry it was found in, and for a submodule its parent's __path__; an
extension module (a .so file, loaded from its file as always) has offset -1.

This must be the last build step that adds or changes Python files (it trusts the image's
files not to change afterwards, as the unchecked-hash bytecode of compileall does).
"""
import importlib
import marshal
import os
import pkgutil
import sys
from importlib.machinery import ExtensionFileLoader, SourceFileLoader

RUNNER = '/opt/sandboxctl'
OUT = os.path.join(RUNNER, 'preload.bin')

# the runner's own sys.path set-up, as `python3 -I -S -B /opt/sandboxctl/runner.py` runs it
# (with no preload file yet: every module here is found the usual way)
if os.path.exists(OUT):
    os.remove(OUT)
sys.path.insert(0, RUNNER)
import runner  # noqa: E402  (its top level sets sys.path up; main() does not run)

# what the stages import up front, what they import later (errors, the loaded encoding), and
# every plugin that ships in Beancount (a container of `--module beancount.plugins.X`)
MODULES = ['sbx_runner.plugin_stage', 'sbx_runner.load_stage', 'sbx_runner.finalize_stage',
           'sbx_runner.print_stage', 'sbx_runner.session', 'sbx_runner.loaded', 'beancount.loader',
           'traceback', 'argparse']


def builtin_plugins():
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
    skipped = []
    for name in MODULES + builtin_plugins():
        try:
            importlib.import_module(name)
        except Exception as exc:  # a builtin that cannot import here is left to the usual path
            skipped.append('{} ({})'.format(name, type(exc).__name__))
    index, chunks, offset = {}, [], 0
    for name, module in sorted(sys.modules.items()):
        spec = getattr(module, '__spec__', None)
        # only what FileFinder found: a source file, or an extension module (whose place only
        # is recorded, saving the search; it is loaded from its file as always)
        if spec is None or type(spec.loader) not in (SourceFileLoader, ExtensionFileLoader) or not spec.has_location:
            continue
        where = where_found(name, spec)
        if where is None:
            skipped.append('{} (not on sys.path)'.format(name))
            continue
        pkg = list(spec.submodule_search_locations) if spec.submodule_search_locations is not None else None
        if type(spec.loader) is ExtensionFileLoader:
            if pkg is not None:
                continue
            index[name] = (spec.origin, None, where, -1, 0)
            continue
        code = marshal.dumps(spec.loader.get_code(name))
        index[name] = (spec.origin, pkg, where, offset, len(code))
        chunks.append(code)
        offset += len(code)
    header = marshal.dumps((runner.preload_tag(), list(sys.path), index))
    tmp = OUT + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(len(header).to_bytes(8, 'big'))
        f.write(header)
        f.writelines(chunks)
    os.chmod(tmp, 0o644)
    os.replace(tmp, OUT)
    print('preload: {} modules, {} bytes of code{}'.format(
        len(index), offset, '; skipped: ' + ', '.join(skipped) if skipped else ''))


if __name__ == '__main__':
    main()
