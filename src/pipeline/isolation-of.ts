// Where one granted bundle runs under the profile it was granted (src/policy/isolation.ts),
// with the one fact that needs the file system: whether the bundle is a folder directly in
// the install's plugins/ folder, compared by real path so a link cannot pass for it.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Bundle } from '../manifest/bundle.js';
import { decideIsolation, recognizeBuiltin, type IsolationDecision } from '../policy/isolation.js';
import type { Profile } from '../policy/profile-schema.js';

export async function isolationOf(bundle: Pick<Bundle, 'dir' | 'manifest' | 'digest'>, profile: Pick<Profile, 'name' | 'builtins'>, root: string): Promise<IsolationDecision> {
  const real = (p: string) => realpath(p).catch(() => null);
  const [parent, shipped] = await Promise.all([real(path.dirname(bundle.dir)), real(path.join(root, 'plugins'))]);
  const fromInstall = parent !== null && parent === shipped;
  return decideIsolation(profile, recognizeBuiltin({ manifest: bundle.manifest, digest: bundle.digest, fromInstall }));
}
