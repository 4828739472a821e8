// dist/ is rebuilt whole, so a module that was moved or removed in src/ leaves nothing behind.
import { rmSync } from 'node:fs';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
