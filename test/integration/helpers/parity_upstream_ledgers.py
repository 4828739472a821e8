"""Collects the ledgers Beancount 2.3.5's own plugin tests load, by running those tests with
the loader's entry point wrapped: every top-level load (load_doc docstrings, load_string,
load_file on a temporary file) is recorded as the ledger text it parsed.

Usage: python3 parity_upstream_ledgers.py OUT_DIR   (Beancount 2.3.5 with its tests: the Python
runner image, where the parity suite runs it)
Writes OUT_DIR/<plugin>/<test>[-n].beancount and prints one JSON line per ledger:
  {"plugin": name, "test": test id, "file": path, "sideFiles": [paths], "addedPluginLine": bool}
(a ledger whose test calls the plugin function directly gets the plugin's line prepended).
and one {"skipped": ..., "why": ...} line per load that cannot be replayed from a file.
Nothing from the upstream tests is kept in this repository; they are read at test time.
"""
import json
import os
import re
import sys
import textwrap
import unittest

os.environ['BEANCOUNT_DISABLE_LOAD_CACHE'] = '1'

from beancount import loader  # noqa: E402
import beancount.plugins  # noqa: E402

PLUGINS_DIR = os.path.dirname(beancount.plugins.__file__)
_INCLUDE = re.compile(r'^\s*include\s', re.M)
# merge_meta's config names another ledger file (a temporary one in its tests): it is kept too
_MERGE_META = re.compile(r'^(\s*plugin\s+"beancount\.plugins\.merge_meta"\s+")([^"]+)(")', re.M)


def snapshot(text, files):
    """Replaces each existing file a merge_meta line names by @@FILE<k>@@ and keeps its text."""
    def repl(m):
        path = m.group(2)
        if not os.path.isfile(path):
            return m.group(0)
        with open(path, encoding='utf-8') as f:
            inner = snapshot(f.read(), files)
        files.append(inner)
        return '{}@@FILE{}@@{}'.format(m.group(1), len(files) - 1, m.group(3))
    return _MERGE_META.sub(repl, text)


class Recorder:
    def __init__(self):
        self.depth = 0
        self.test = None
        self.loads = []  # (test id, text) | (test id, None, why)

    def wrap(self, original):
        def _load(sources, *args, **kwargs):
            # only what a test loads itself; a plugin loading a file (merge_meta) is not a ledger
            if self.depth == 0 and self.test is not None:
                self.record(sources)
            self.depth += 1
            try:
                return original(sources, *args, **kwargs)
            finally:
                self.depth -= 1
        return _load

    def record(self, sources):
        if len(sources) != 1:
            self.loads.append((self.test, None, 'several sources'))
            return
        text, is_file = sources[0]
        if is_file:
            try:
                with open(text, encoding='utf-8') as f:
                    text = f.read()
            except OSError as exc:
                self.loads.append((self.test, None, 'unreadable file: {}'.format(exc)))
                return
        if _INCLUDE.search(text):
            # the included files are temporary and gone once the test ends
            self.loads.append((self.test, None, 'includes other files'))
            return
        files = []
        text = snapshot(text, files)
        self.loads.append((self.test, text, files))


class Tracking(unittest.TextTestResult):
    recorder = None

    def startTest(self, test):
        self.recorder.test = test.id()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.recorder.test = None


def dedent_docstring(text):
    # load_doc dedents the docstring; loader.load_string(dedent=True) does the same
    return textwrap.dedent(text)


def main(out_dir):
    rec = Recorder()
    loader._load = rec.wrap(loader._load)
    original_load_string = loader.load_string

    def load_string(string, *args, dedent=False, **kwargs):
        # record what is parsed (dedented), then load it as given
        return original_load_string(dedent_docstring(string) if dedent else string, *args, **kwargs)
    loader.load_string = load_string

    names = sorted(f[:-len('_test.py')] for f in os.listdir(PLUGINS_DIR) if f.endswith('_test.py'))
    suite = unittest.TestSuite()
    for name in names:
        suite.addTests(unittest.defaultTestLoader.loadTestsFromName('beancount.plugins.{}_test'.format(name)))
    Tracking.recorder = rec
    # the upstream tests' own verdicts do not matter here (their output goes to /dev/null)
    with open(os.devnull, 'w') as devnull:
        unittest.TextTestRunner(stream=devnull, resultclass=Tracking, verbosity=0).run(suite)

    seen = set()
    counters = {}
    out = sys.stdout
    for item in rec.loads:
        test = item[0]
        method = test.rpartition('.')[2]
        plugin = test.split('.')[2][:-len('_test')]
        if item[1] is None:
            out.write(json.dumps({'skipped': test, 'plugin': plugin, 'why': item[2]}) + '\n')
            continue
        text, files = item[1], item[2]
        key = (text, tuple(files))
        if key in seen:
            continue
        seen.add(key)
        n = counters.get(test, 0)
        counters[test] = n + 1
        stem = '{}{}'.format(method, '' if n == 0 else '-{}'.format(n))
        path = os.path.join(out_dir, plugin, stem + '.beancount')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # the side files sit next to the ledger and are named by absolute path, as the plugin needs
        names = [os.path.join(out_dir, plugin, '{}.file{}.beancount'.format(stem, k)) for k in range(len(files))]

        def place(t):
            return re.sub(r'@@FILE(\d+)@@', lambda m: names[int(m.group(1))], t)
        for name, body in zip(names, files):
            with open(name, 'w', encoding='utf-8') as f:
                f.write(place(body))
        # a test that calls the plugin's function itself gets the plugin line it implies
        line = 'plugin "beancount.plugins.{}"'.format(plugin)
        added = not re.search(r'^\s*' + re.escape(line), text, re.M)
        with open(path, 'w', encoding='utf-8') as f:
            f.write((line + '\n' if added else '') + place(text))
        out.write(json.dumps({'plugin': plugin, 'test': test, 'file': path, 'sideFiles': names,
                                'addedPluginLine': added}) + '\n')


if __name__ == '__main__':
    main(sys.argv[1])
