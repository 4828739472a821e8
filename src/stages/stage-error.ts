// A trusted stage (Beancount's loader, finalizer or printer) that failed, timed out or
// sent output that does not follow its protocol.
import { SandboxctlError } from '../errors.js';

export class StageFailedError extends SandboxctlError {
  readonly code = 'stage-failed';
  readonly exitCode = 1 as const;
}
