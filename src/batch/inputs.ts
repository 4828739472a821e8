// What a ledger's run consumed, as the incremental state records it: after a run (from what
// the run itself used: the files Beancount read, the bundles and images it ran), and again
// before the next one (each recorded input looked up as it is now). Look-ups shared by the
// ledgers of one batch are made once.
import path from 'node:path';
import type { Engine, ImageInfo } from '../engine/engine.js';
import { requireRunnerImage } from '../images/build.js';
import { loadBundle } from '../manifest/bundle.js';
import { pluginDirs, readCatalogue, type Catalogue } from '../pipeline/catalogue.js';
import { sha256File } from '../pipeline/file-digest.js';
import { profileDigest, type LedgerInvocation } from '../pipeline/ledger-invocation.js';
import { loadPolicy } from '../policy/load-policy.js';
import type { FingerprintInputs, LedgerState } from './state.js';

export interface InputLookups {
  engine: Engine;
  root: string;
  env: NodeJS.ProcessEnv;
  profilesDir?: string;
  sandboxctlVersion: string;
  format: 'beancount' | 'jsonl';
}

export class BatchInputs {
  private readonly memo = new Map<string, Promise<unknown>>();
  constructor(private readonly o: InputLookups) {}

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.memo.set(key, p);
      // a failed look-up is not remembered: the next ledger tries again
      p.catch(() => this.memo.delete(key));
    }
    return p;
  }

  runnerImage(): Promise<ImageInfo> {
    return this.once('runner', () => requireRunnerImage(this.o.engine, { root: this.o.root }, 'python'));
  }

  async runnerImageId(): Promise<string> {
    return (await this.runnerImage()).id;
  }

  profileDigest(profile: string | undefined): Promise<string> {
    return this.once(`profile:${profile ?? ''}`, async () =>
      profileDigest((await loadPolicy({ root: this.o.root, env: this.o.env, profile, profilesDir: this.o.profilesDir })).ceiling),
    );
  }

  catalogue(dirs: readonly string[]): Promise<Catalogue> {
    return this.once(`catalogue:${dirs.join('\0')}`, () => readCatalogue(pluginDirs([...dirs], this.o.env, this.o.root)));
  }

  bundleDigest(dir: string): Promise<string | null> {
    return this.once(`bundle:${dir}`, () => loadBundle(dir).then((b) => b.digest, () => null));
  }

  imageExists(id: string): Promise<boolean> {
    return this.once(`image:${id}`, async () => (await this.o.engine.inspectImage(id)) !== undefined);
  }

  /** The inputs a recorded success named, as they are now. */
  async current(state: LedgerState, job: { profile?: string; pluginsDirs: readonly string[] }): Promise<FingerprintInputs> {
    const catalogue = await this.catalogue(job.pluginsDirs);
    const files = await Promise.all(state.inputs.files.map(async (f) => ({ path: f.path, sha256: await sha256File(f.path).catch(() => 'missing') })));
    const plugins = await Promise.all(
      state.inputs.plugins.map(async (p) => {
        const dir = catalogue.find(p.name)?.dir ?? '';
        const bundleHash = (dir && (await this.bundleDigest(dir))) || 'missing';
        // a plugin image removed since (gc --images) is rebuilt on the next run: that is a change
        const imageId = (await this.imageExists(p.imageId)) ? p.imageId : 'missing';
        return { name: p.name, dir, bundleHash, imageId };
      }),
    );
    return {
      sandboxctlVersion: this.o.sandboxctlVersion,
      format: this.o.format,
      profileDigest: await this.profileDigest(job.profile),
      runnerImageId: await this.runnerImageId(),
      files,
      plugins,
    };
  }

  /** The inputs a finished run consumed; `toOriginal` maps a private copy's paths back. */
  async ofRun(inv: LedgerInvocation, ledger: string, toOriginal: (p: string) => string): Promise<FingerprintInputs> {
    const include = inv.result.loaded.options.include;
    const read = Array.isArray(include) && include.every((f) => typeof f === 'string') ? (include as string[]).map(toOriginal) : [ledger];
    const names = [...new Set([ledger, ...read].map((f) => path.resolve(f)))];
    const files = await Promise.all(names.map(async (f) => ({ path: f, sha256: await sha256File(f) })));
    const plugins = inv.preparations.flatMap((p) =>
      p.ok ? [{ name: p.identity.name, dir: p.bundle.dir, bundleHash: p.identity.bundleHash ?? 'none', imageId: p.plugin.image.id }] : [],
    );
    return { sandboxctlVersion: this.o.sandboxctlVersion, format: this.o.format, profileDigest: inv.profileDigest, runnerImageId: inv.runnerImageId, files, plugins };
  }
}
