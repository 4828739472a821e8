// Start-up cost: dockerode requires two modules when it loads that sandboxctl never calls,
// BuildKit's gRPC session (`dockerode/lib/session.js`: @grpc/grpc-js, protobufjs) and the
// SSH transport (`docker-modem/lib/ssh.js`: ssh2). Together they are over 100 ms of every
// command's start. Both export one function. deferModule() puts a stand-in for such a module
// in Node's CommonJS cache that loads the real module on its first call and forwards every
// call to it, so nothing changes if they are ever used; they are just not loaded otherwise.
import type Dockerode from 'dockerode';
import Module, { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Defers loading `file` (an absolute path to a CommonJS module exporting one function). */
export function deferModule(file: string): void {
  if (require.cache[file]) return; // already loaded: nothing to save
  let real: AnyFunction | undefined;
  const stand = new Module(file);
  stand.filename = file;
  stand.loaded = true;
  stand.exports = function deferred(this: unknown, ...args: unknown[]): unknown {
    if (!real) {
      delete require.cache[file];
      real = require(file) as AnyFunction;
    }
    return real.apply(this, args);
  };
  require.cache[file] = stand;
}

/** Defers dockerode's gRPC session and SSH transport; call before dockerode is loaded. */
function deferUnusedDockerodeParts(): void {
  try {
    const dockerode = path.dirname(require.resolve('dockerode/package.json'));
    deferModule(path.join(dockerode, 'lib', 'session.js'));
    const modem = path.dirname(require.resolve('docker-modem/package.json', { paths: [dockerode] }));
    deferModule(path.join(modem, 'lib', 'ssh.js'));
  } catch {
    // a dockerode laid out differently: load it whole, as usual
  }
}

/** dockerode's Docker class, loaded without the parts sandboxctl does not use. */
export function loadDockerode(): typeof Dockerode {
  deferUnusedDockerodeParts();
  return require('dockerode') as typeof Dockerode;
}
