// An admin profile: the most a plugin may be granted under it. Profiles are data
// (profiles/*.yaml); this schema checks them at load. Defaults are the tightest values,
// so an omitted field never widens anything. Pure.
import { z } from 'zod';
import { durationSchema, EFFECTS, ENV_NAME_RE, RUNTIMES, sizeSchema } from '../manifest/schema.js';
import { SIZE_EXPECTED, SIZE_PATTERN } from '../manifest/quantity.js';

export const PROFILE_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
/** A uid:gid pair; neither may be 0 (root). */
export const USER_RE = /^[1-9][0-9]{0,9}:[1-9][0-9]{0,9}$/;

export const profileSchema = z
  .strictObject({
    name: z.string().regex(PROFILE_NAME_RE, { error: 'expected a lowercase profile name such as strict' }),
    description: z.string().max(500).optional(),
    rank: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .describe('how loose the profile is: a ledger may only pick a profile of equal or lower rank than the admin\'s'),
    allow: z
      .strictObject({
        runtimes: z.array(z.enum(RUNTIMES)).default(['python', 'node']).describe('plugin runtimes this profile runs'),
        ledger: z.enum(['none', 'read']).default('none').describe("'read' lets a plugin have the ledger directory read-only"),
        network: z.enum(['none', 'egress']).default('none'),
        scratchMax: z
          .union([z.literal('none'), z.string().regex(SIZE_PATTERN, { error: `expected 'none' or ${SIZE_EXPECTED}` })])
          .default('none')
          .describe('largest scratch tmpfs a plugin may ask for'),
        env: z
          .array(z.string().regex(ENV_NAME_RE, { error: 'expected an environment variable name' }))
          .default([])
          .describe('host environment variables a plugin may ask to see'),
        effects: z.array(z.enum(EFFECTS)).default([...EFFECTS]).describe('effects a plugin may ask for'),
      })
      .prefault({}),
    ceilings: z.strictObject({
      memory: sizeSchema,
      cpus: z.number().positive().max(64),
      timeout: durationSchema,
      pids: z.number().int().min(1).max(4096),
      outputBytes: sizeSchema.describe('total bytes a plugin may write to stdout'),
      lineBytes: sizeSchema.describe('largest single protocol line'),
      results: z.number().int().min(0).describe('most result messages one run may return'),
      errors: z.number().int().min(0).describe('most errors one run may report'),
    }),
    seccomp: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9._/-]*\.json$/, { error: 'expected a seccomp profile file name such as strict.json' })
      .describe('a bare name is a file in the install\'s seccomp/ folder; a path with "/" is relative to this profile\'s folder'),
    apparmor: z
      .enum(['required', 'if-available', 'off'])
      .default('if-available')
      .describe('required: refuse to run where the host has no AppArmor; if-available: apply it where the host has it'),
    apparmorProfile: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('sandboxctl-plugin'),
    runtime: z
      .strictObject({
        prefer: z.enum(['runsc', 'runc']).default('runc').describe('runsc (gVisor) is used whenever the engine has it registered'),
        require: z.boolean().default(false).describe('refuse to run where the preferred runtime is missing'),
      })
      .prefault({}),
    builtins: z
      .enum(['session', 'container'])
      .default('container')
      .describe(
        "where Beancount's own builtin plugins (the install's first-party bundles, unchanged) run: 'session' in the trusted " +
          "session that loaded the ledger (still confined: read-only ledger, no network, the profile's seccomp, non-root), " +
          "'container' each in its own container like any plugin. Any other bundle always gets its own container",
      ),
    user: z.string().regex(USER_RE, { error: 'expected uid:gid, both non-zero (never root), such as 65532:65532' }).default('65532:65532'),
  })
  .describe('sandboxctl admin profile');

export type Profile = z.output<typeof profileSchema>;
