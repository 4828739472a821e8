// Paths a plugin's container uses for itself, and whether the ledger's directory may also be
// mounted at its own host path there. That second mount lets a host path written in a
// plugin's config (Beancount's merge_meta opens another ledger by it) resolve inside the
// container as it does outside. Pure: the path and the reserved list in, a verdict out.
import path from 'node:path';

/** Where the ledger directory appears inside the container (read-only), when granted. */
export const LEDGER_MOUNT = '/ledger';
/** Where the scratch tmpfs appears, when granted. */
export const SCRATCH_MOUNT = '/scratch';
/** Where a python/node plugin image holds its bundle (src/run/plugin-image.ts copies it there). */
export const BUNDLE_DIR = '/plugin';

export interface ReservedPath {
  path: string;
  /** Why the container needs it: said to the admin when a ledger's host path collides with it. */
  why: string;
}

/**
 * Every path the container needs for itself: what the runner images hold (Debian bookworm with
 * merged /usr, the runner, the bundle, the plugin user's home), what the engine mounts (/proc,
 * /sys, /dev, /etc/hosts and friends, docker-init at /sbin/docker-init, /.dockerenv) and what
 * our spec mounts (/tmp, /dev/shm, /scratch, /ledger). The 32-bit library dirs are not in our
 * images but are in other Debian-based ones. /home, /mnt, /media and /srv are empty there.
 */
export const CONTAINER_PATHS: readonly ReservedPath[] = [
  { path: '/proc', why: "the container's own procfs" },
  { path: '/sys', why: "the container's own sysfs" },
  { path: '/dev', why: "the container's devices and its read-only /dev/shm" },
  { path: '/tmp', why: 'an empty read-only tmpfs in every plugin container' },
  { path: '/etc', why: "the image's configuration, with the hosts, hostname and resolv.conf files the engine mounts" },
  { path: '/usr', why: "the image's programs and libraries (Python, Beancount, Node)" },
  { path: '/bin', why: 'a link to /usr/bin in the image' },
  { path: '/sbin', why: 'a link to /usr/sbin in the image, where the engine mounts docker-init' },
  { path: '/lib', why: 'a link to /usr/lib in the image' },
  { path: '/lib64', why: 'a link to /usr/lib64 in the image' },
  { path: '/lib32', why: 'a library directory of Debian-based images' },
  { path: '/libx32', why: 'a library directory of Debian-based images' },
  { path: '/var', why: "the image's variable data" },
  { path: '/run', why: "the image's runtime state" },
  { path: '/boot', why: 'part of the image' },
  { path: '/opt', why: 'the runner lives at /opt/sandboxctl' },
  { path: '/root', why: "root's home in the image, mode 0700: the plugin's user could not reach a mount under it" },
  { path: '/nonexistent', why: "the plugin user's home in the runner images" },
  { path: '/.dockerenv', why: 'a file the engine creates' },
  { path: BUNDLE_DIR, why: 'the plugin bundle' },
  { path: LEDGER_MOUNT, why: 'the ledger directory mount' },
  { path: SCRATCH_MOUNT, why: 'the scratch tmpfs' },
];

export type HostPathVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Whether `dir` (a host directory) can be a mount target inside the container: absolute,
 * normalised, not `/`, and neither equal to, inside, nor a parent of any reserved path.
 */
export function hostPathMountable(dir: string, reserved: readonly ReservedPath[] = CONTAINER_PATHS): HostPathVerdict {
  if (!path.posix.isAbsolute(dir)) return { ok: false, reason: 'it is not an absolute path' };
  if (/[\u0000-\u001f\u007f]/.test(dir)) return { ok: false, reason: 'it contains control characters' };
  if (dir === '/') return { ok: false, reason: 'it is the root directory' };
  if (path.posix.normalize(dir) !== dir || dir.endsWith('/')) {
    return { ok: false, reason: "it is not in normal form (no '.', '..', '//' or trailing '/')" };
  }
  for (const r of reserved) {
    if (dir === r.path) return { ok: false, reason: `it is ${r.path}, which the container needs for itself (${r.why})` };
    if (dir.startsWith(`${r.path}/`)) return { ok: false, reason: `it is inside ${r.path}, which the container needs for itself (${r.why})` };
    if (r.path.startsWith(`${dir}/`)) return { ok: false, reason: `it would cover ${r.path}, which the container needs for itself (${r.why})` };
  }
  return { ok: true };
}
