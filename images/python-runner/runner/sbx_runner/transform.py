"""Runs one plugin the way Beancount 2.3.5's loader.run_transformations does."""
import importlib
import importlib.util
import os
import sys
import traceback

from beancount.core import data


def _module_path(entrypoint):
    """'pkg/mod.py' -> 'pkg.mod', 'pkg' (a package directory) -> 'pkg'; None when a part
    is not a Python identifier (such a file can only be loaded by its path)."""
    parts = entrypoint[:-3].split('/') if entrypoint.endswith('.py') else entrypoint.split('/')
    if parts and parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts) if parts and all(p.isidentifier() for p in parts) else None


def load_module(name, bundle=None, entrypoint=None):
    """Imports a plugin: a module installed in the image, or a bundle's .py file or package dir.

    A bundle's entrypoint is imported under its own module path inside the bundle
    (pkg/mod.py -> pkg.mod), so its relative imports (`from .common import x`) work; `name`
    (the manifest's) names it in messages. Raises ImportError like importlib does, so the
    caller can report it as Beancount would.
    """
    if entrypoint is None:
        return importlib.import_module(name)
    path = os.path.normpath(os.path.join(bundle, entrypoint))
    if not path.startswith(os.path.normpath(bundle) + os.sep):
        raise ImportError('entrypoint {!r} is outside the bundle'.format(entrypoint))
    # the bundle root is importable, as the ledger's directory is with insert_pythonpath
    if bundle not in sys.path:
        sys.path.insert(0, bundle)
    dotted = _module_path(entrypoint)
    if dotted is not None:
        return _import_from_bundle(name, dotted, path, bundle)
    if os.path.isdir(path):
        init = os.path.join(path, '__init__.py')
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[path])
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not os.path.exists(spec.origin or ''):
        raise ImportError('cannot load plugin {!r} from {}'.format(name, path), name=name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the module can find itself, as after import_module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import_from_bundle(name, dotted, path, bundle):
    top = dotted.split('.')[0]
    loaded = sys.modules.get(top)
    root = os.path.realpath(bundle) + os.sep
    if loaded is not None and not os.path.realpath(getattr(loaded, '__file__', None) or '/').startswith(root):
        raise ImportError('plugin {!r}: its entrypoint is module {!r}, but {!r} is already the runner\'s '
                          'own module; rename the bundle\'s top-level module or package'.format(name, dotted, top),
                          name=name)
    module = importlib.import_module(dotted)
    where = os.path.realpath(getattr(module, '__file__', None) or '/')
    want = os.path.realpath(os.path.join(path, '__init__.py') if os.path.isdir(path) else path)
    if where != want:
        raise ImportError('plugin {!r}: module {!r} was found at {}, not at its entrypoint {}'.format(
            name, dotted, where, want), name=name)
    sys.modules.setdefault(name, module)  # the manifest name finds it too, as before
    return module


def _load_error(message):
    from beancount.loader import LoadError  # (parser, booking, hashlib...): only for an error
    return LoadError(data.new_metadata('<load>', 0), message, None)


def run_plugin(module_loader, plugin_name, plugin_config, entries, options_map):
    """Returns (entries, errors) exactly as the loader's loop would for this one plugin.

    `module_loader` imports the module. An ImportError becomes an error and the entries
    pass through; other import-time exceptions propagate (they fail a Beancount run too).
    """
    errors = []
    try:
        module = module_loader()
        if not hasattr(module, '__plugins__'):
            return entries, errors
    except ImportError:
        formatted_traceback = traceback.format_exc().replace('\n', '\n  ')
        errors.append(_load_error('Error importing "{}": {}'.format(plugin_name, formatted_traceback)))
        return entries, errors

    for function_name in module.__plugins__:
        if isinstance(function_name, str):
            callback = getattr(module, function_name)
        else:
            callback = function_name
        args = () if plugin_config is None else (plugin_config,)
        try:
            entries, plugin_errors = callback(entries, options_map, *args)
            errors.extend(plugin_errors)
        except Exception:  # SystemExit and KeyboardInterrupt end the run, as in Beancount
            formatted_traceback = traceback.format_exc().replace('\n', '\n  ')
            errors.append(_load_error('Error applying plugin "{}": {}'.format(
                plugin_name, formatted_traceback)))
            continue

    # Beancount sorts after each plugin: it does not trust plugins to keep the order
    entries.sort(key=data.entry_sortkey)
    return entries, errors
