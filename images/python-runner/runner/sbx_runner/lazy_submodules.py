"""Beancount's packages hand out their submodules on first use, as they can in-process.

When Beancount runs a plugin in-process, its loader has already imported the parser,
booking, the printer, the ops and much of beancount.core, and a submodule once imported is
an attribute of its package. So a plugin that says only `import beancount` and then uses
`beancount.loader`, `beancount.parser.printer` or `beancount.core.getters` works there. The
plugin stage imports none of that (each module costs system calls, which gVisor makes
dear), so each Beancount package gets a module __getattr__ (PEP 562): the first time a name
that is one of its submodules is looked up as an attribute, that submodule is imported.
Any other missing name is an AttributeError, as before; a package's own attributes and an
imported submodule are found without it.
"""
import importlib
import importlib.util
import sys

PACKAGES = ('beancount', 'beancount.core', 'beancount.parser', 'beancount.ops', 'beancount.utils', 'beancount.plugins')


def _submodule_getter(package):
    def __getattr__(name):
        if not name.startswith('_'):
            full = package + '.' + name
            try:
                found = importlib.util.find_spec(full) is not None
            except (ImportError, ValueError):
                found = False
            if found:
                return importlib.import_module(full)
        raise AttributeError('module {!r} has no attribute {!r}'.format(package, name))
    return __getattr__


def install():
    for name in PACKAGES:
        module = sys.modules.get(name) or importlib.import_module(name)
        if '__getattr__' not in vars(module):
            module.__getattr__ = _submodule_getter(name)
