"""The loader reads the ledger's directory at a mount point (/ledger); people, plugins and
in-process Beancount speak of host paths. Filenames are mapped once, here, right after
loading, so everything downstream (plugins, errors, the finalizer, the printed ledger)
names the files the admin knows."""
import os


class PathMap:
    def __init__(self, mount, host_dir):
        self.mount = os.path.normpath(mount)
        self.host_dir = os.path.normpath(host_dir)
        self._prefix = self.mount.rstrip('/') + '/'

    def path(self, p):
        if not isinstance(p, str):
            return p
        if p == self.mount:
            return self.host_dir
        if p.startswith(self._prefix):
            return os.path.join(self.host_dir, p[len(self._prefix):])
        return p

    def text(self, s):
        """Beancount's messages name files too ("File ... does not exist")."""
        return s.replace(self._prefix, self.host_dir.rstrip('/') + '/') if isinstance(s, str) else s

    def _meta(self, meta, seen):
        # a dict shared by two entries is mapped once (a host dir under the mount would map twice)
        if id(meta) in seen:
            return
        seen.add(id(meta))
        if isinstance(meta, dict) and isinstance(meta.get('filename'), str):
            mapped = self.path(meta['filename'])
            if mapped != meta['filename']:
                meta['filename'] = mapped

    def entries(self, entries):
        """Maps in place (metadata) or by replacement (Document.filename); returns the list."""
        seen = set()
        for i, e in enumerate(entries):
            self._meta(e.meta, seen)
            for p in getattr(e, 'postings', None) or ():
                self._meta(p.meta, seen)
            if type(e).__name__ == 'Document' and isinstance(e.filename, str):
                mapped = self.path(e.filename)
                if mapped != e.filename:
                    entries[i] = e._replace(filename=mapped)
        return entries

    def options(self, encoded):
        """Encoded options (JSON) -> a copy with its path options mapped."""
        out = dict(encoded)
        if isinstance(out.get('filename'), str):
            out['filename'] = self.path(out['filename'])
        for k in ('include', 'documents'):
            if isinstance(out.get(k), list):
                out[k] = [self.path(v) for v in out[k]]
        return out

    def error(self, msg):
        """An error message dict (errors.error_message) with its paths mapped."""
        msg['message'] = self.text(msg['message'])
        if msg.get('source'):
            msg['source']['filename'] = self.path(msg['source']['filename'])
        return msg


class NoMap:
    def path(self, p):
        return p

    def entries(self, entries):
        return entries

    def options(self, encoded):
        return encoded

    def error(self, msg):
        return msg
