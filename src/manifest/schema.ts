// The plugin manifest (plugin.yaml): what a plugin is and what it asks for. Every field
// has a safe default, unknown keys are errors, and nothing here grants anything: the
// admin profile decides (src/policy/resolve.ts). Pure.
import { z } from 'zod';
import { DURATION_EXPECTED, DURATION_PATTERN, SIZE_EXPECTED, SIZE_PATTERN } from './quantity.js';

export const API_VERSION = 'sandboxctl/v1';

/** Plugin names as a ledger's `plugin "..."` line writes them: dotted Python module names included. */
export const PLUGIN_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:[.-][A-Za-z0-9_]+)*$/;
// semver.org's recommended expression
export const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** A relative path inside the bundle: no leading '/', no '.' or '..' segments, no hidden files. */
export const BUNDLE_PATH_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const SHA256_RE = /^sha256:[0-9a-f]{64}$/;

export const EFFECTS = ['add', 'modify', 'remove'] as const;
export type Effect = (typeof EFFECTS)[number];
export const RUNTIMES = ['python', 'node', 'image'] as const;
export type PluginRuntime = (typeof RUNTIMES)[number];

export const sizeSchema = z.union([
  z.string().regex(SIZE_PATTERN, { error: `expected ${SIZE_EXPECTED}` }),
  z.number().int().positive(),
]);
export const durationSchema = z
  .string({ error: `expected ${DURATION_EXPECTED}` })
  .regex(DURATION_PATTERN, { error: `expected ${DURATION_EXPECTED}` });

function unique<T>(what: string) {
  return (items: T[], ctx: z.core.$RefinementCtx<T[]>) => {
    const seen = new Set<T>();
    for (const [i, item] of items.entries()) {
      if (seen.has(item)) ctx.addIssue({ code: 'custom', path: [i], input: item, message: `${what} listed twice` });
      seen.add(item);
    }
  };
}

export const capabilitiesSchema = z
  .strictObject({
    ledger: z
      .enum(['none', 'read'])
      .default('none')
      .describe("'read' mounts the ledger's directory read-only at /ledger, and at its own host path unless the container needs that path; 'none' mounts nothing"),
    network: z.enum(['none', 'egress']).default('none').describe("'egress' asks for outbound network; 'none' gives no network at all"),
    scratch: z
      .union([z.literal('none'), z.string().regex(SIZE_PATTERN, { error: `expected 'none' or ${SIZE_EXPECTED}` })])
      .default('none')
      .describe("a writable tmpfs at /scratch of this size (noexec), or 'none'"),
    env: z
      .array(z.string().regex(ENV_NAME_RE, { error: 'expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)' }))
      .max(64)
      .superRefine(unique('environment variable'))
      .default([])
      .describe('names of host environment variables the plugin may see (values are never in the manifest)'),
    effects: z
      .array(z.enum(EFFECTS))
      .superRefine(unique('effect'))
      .default([])
      .describe('what the plugin may do to the ledger: add, modify and/or remove directives; [] = it may only report errors'),
  })
  .describe('what the plugin asks for; everything defaults to nothing');

export const resourcesSchema = z
  .strictObject({
    memory: sizeSchema.default('128Mi').describe('memory cap (swap is not added on top)'),
    cpus: z.number().positive().max(64).default(0.5).describe('CPU share, in cores'),
    timeout: durationSchema.default('30s').describe('wall-clock limit for one run of the plugin'),
    pids: z.number().int().min(1).max(4096).default(64).describe('processes and threads the plugin may have at once'),
  })
  .describe('resource requests; a request above the admin profile ceiling is refused');

export const manifestSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).describe('manifest format version'),
    name: z
      .string()
      .max(128)
      .regex(PLUGIN_NAME_RE, { error: 'expected a plugin name such as acme.tag-large or beancount.plugins.implicit_prices' })
      .describe('the name a ledger\'s `plugin "<name>"` line uses'),
    version: z.string().regex(SEMVER_RE, { error: 'expected a semantic version such as 1.2.0 (quote it in YAML)' }),
    description: z.string().max(500).optional(),
    license: z.string().max(100).optional().describe('an SPDX license expression'),
    homepage: z.url({ protocol: /^https?$/ }).optional(),
    runtime: z.enum(RUNTIMES).describe('python and node run the entrypoint on our runner image; image runs a pinned image'),
    entrypoint: z
      .string()
      .max(255)
      .regex(BUNDLE_PATH_RE, { error: "expected a relative path inside the bundle (no leading '/', no '..', no hidden files)" })
      .optional()
      .describe('the file the runner loads (python: a module exposing __plugins__); required for python and node'),
    module: z
      .string()
      .max(200)
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/, { error: 'expected a dotted Python module name such as beancount.plugins.implicit_prices' })
      .optional()
      .describe('python only, instead of entrypoint: a module that ships in the runner image (Beancount\'s builtin plugins)'),
    image: z
      .strictObject({ id: z.string().regex(SHA256_RE, { error: 'expected an image ID sha256:<64 hex digits>' }) })
      .optional()
      .describe('for runtime image only: the image, pinned by ID so what runs is what was reviewed'),
    capabilities: capabilitiesSchema.prefault({}),
    resources: resourcesSchema.prefault({}),
    integrity: z
      .strictObject({
        bundleDigest: z
          .string()
          .regex(SHA256_RE, { error: 'expected sha256:<64 hex digits>' })
          .optional()
          .describe('sha256 of every bundle file except plugin.yaml (see `sandboxctl plan`); a bundle that differs is refused'),
      })
      .prefault({}),
  })
  .superRefine((m, ctx) => {
    if (m.runtime === 'image') {
      if (!m.image) ctx.addIssue({ code: 'custom', path: ['image'], input: undefined, message: 'runtime image needs image: {id: sha256:...}' });
      if (m.entrypoint !== undefined) ctx.addIssue({ code: 'custom', path: ['entrypoint'], input: m.entrypoint, message: 'runtime image runs the image as built; entrypoint is not used' });
      if (m.module !== undefined) ctx.addIssue({ code: 'custom', path: ['module'], input: m.module, message: 'runtime image runs the image as built; module is not used' });
    } else {
      if (m.module !== undefined) {
        if (m.runtime !== 'python') ctx.addIssue({ code: 'custom', path: ['module'], input: m.module, message: 'module is for runtime python only' });
        if (m.entrypoint !== undefined) ctx.addIssue({ code: 'custom', path: ['entrypoint'], input: m.entrypoint, message: 'give entrypoint or module, not both' });
      } else if (m.entrypoint === undefined) ctx.addIssue({ code: 'custom', path: ['entrypoint'], input: undefined, message: `runtime ${m.runtime} needs an entrypoint file` });
      if (m.image !== undefined) ctx.addIssue({ code: 'custom', path: ['image'], input: m.image, message: `image is only for runtime image, not ${m.runtime}` });
    }
  })
  .describe('sandboxctl plugin manifest (plugin.yaml)');

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
export type Capabilities = Manifest['capabilities'];
