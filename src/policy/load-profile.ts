// Finds and reads admin profiles: by name from the profiles folder (the install's, or the
// admin's via --profiles-dir / SANDBOXCTL_PROFILES_DIR), or from a file path.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, UsageError } from '../errors.js';
import { parseProfile } from './parse-profile.js';
import { PROFILE_NAME_RE, type Profile } from './profile-schema.js';

export const PROFILES_DIR_ENV = 'SANDBOXCTL_PROFILES_DIR';
export const PROFILE_ENV = 'SANDBOXCTL_PROFILE';
/** The admin ceiling when nobody names one: the tightest shipped profile. */
export const DEFAULT_PROFILE = 'strict';

export interface LoadedProfile {
  profile: Profile;
  file: string;
  /** Absolute path of the seccomp profile this profile names. */
  seccompFile: string;
}

export interface ProfileLocations {
  /** Where profiles are looked up by name. */
  profilesDir: string;
  /** Where a bare seccomp file name is looked up (the install's seccomp/). */
  seccompDir: string;
}

/** --profiles-dir wins, then SANDBOXCTL_PROFILES_DIR, then the install's profiles/. */
export function profileLocations(root: string, env: NodeJS.ProcessEnv, profilesDirOption?: string): ProfileLocations {
  const dir = profilesDirOption ?? env[PROFILES_DIR_ENV];
  return {
    profilesDir: dir ? path.resolve(dir) : path.join(root, 'profiles'),
    seccompDir: path.join(root, 'seccomp'),
  };
}

function isPath(ref: string): boolean {
  return ref.includes('/') || ref.endsWith('.yaml') || ref.endsWith('.yml');
}

/** Loads a profile by name (from profilesDir) or by file path. */
export async function loadProfile(ref: string, where: ProfileLocations): Promise<LoadedProfile> {
  if (!isPath(ref) && !PROFILE_NAME_RE.test(ref)) {
    throw new UsageError(`profile ${JSON.stringify(ref)} is neither a profile name nor a file path`, {
      hint: 'name a profile such as strict, standard or permissive, or give a path to a .yaml file',
    });
  }
  const file = isPath(ref) ? path.resolve(ref) : path.join(where.profilesDir, `${ref}.yaml`);
  const text = await readFile(file, 'utf8').catch((cause: unknown) => {
    throw new UsageError(`profile ${ref} not found: ${file} cannot be read`, {
      cause,
      hint: `profiles are looked up in ${where.profilesDir} (set --profiles-dir or ${PROFILES_DIR_ENV} to use another folder)`,
    });
  });
  const profile = parseProfile(text, file);
  if (!isPath(ref) && profile.name !== ref) {
    throw new InvalidInputError(file, [{ path: 'name', expected: JSON.stringify(ref), found: JSON.stringify(profile.name), message: `a profile file named ${ref}.yaml must be named ${ref}` }]);
  }
  // a bare name is one of the install's seccomp profiles; a path is the admin's, next to the profile
  const seccompFile = profile.seccomp.includes('/') ? path.resolve(path.dirname(file), profile.seccomp) : path.join(where.seccompDir, profile.seccomp);
  return { profile, file, seccompFile };
}
