import { describe, expect, it } from 'vitest';
import { renderDiagnostic } from './diagnostic.js';

describe('renderDiagnostic', () => {
  it('prints the ledger-error form with a caret under the source line', () => {
    const text = renderDiagnostic({
      severity: 'error',
      code: 'refused',
      title: 'Plugin execution blocked by sandbox',
      location: { file: 'main.beancount', line: 1, column: 1 },
      sourceLine: 'plugin "malicious_plugin"',
      notes: [
        { label: 'reason', text: 'capability network=egress is not allowed by profile strict' },
        { label: 'hint', text: 'ask an admin for the permissive profile' },
      ],
    });
    expect(text).toBe(
      [
        'error: Plugin execution blocked by sandbox',
        '  --> main.beancount:1:1',
        '  |',
        '1 | plugin "malicious_plugin"',
        '  | ^^^^^^^^^^^^^^^^^^^^^^^^^',
        '  |',
        '  = reason: capability network=egress is not allowed by profile strict',
        '  = hint: ask an admin for the permissive profile',
      ].join('\n'),
    );
  });

  it('widens the gutter for long line numbers and underlines from the first non-space', () => {
    const text = renderDiagnostic({
      severity: 'error', code: 'x', title: 't',
      location: { file: 'f', line: 1234 }, sourceLine: '  Assets:Cash  1 USD', notes: [],
    });
    expect(text.split('\n')).toEqual(['error: t', '     --> f:1234:3', '     |', '1234 |   Assets:Cash  1 USD', '     |   ^^^^^^^^^^^^^^^^^^', '     |']);
  });

  it('escapes terminal control sequences from untrusted text', () => {
    const text = renderDiagnostic({
      severity: 'error', code: 'plugin-error', title: 'bad \u001b[31mred\u001b[0m',
      notes: [{ label: 'message', text: 'x\u009b2Jy' }],
    });
    expect(text).not.toMatch(/[\u001b\u009b]/);
    expect(text).toContain('\\x1b[31mred');
  });
});
