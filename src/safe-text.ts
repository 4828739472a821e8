// Text from plugins and ledgers is shown to people: control characters are escaped so
// that a plugin cannot move the cursor, recolour or rewrite a terminal.
export function safeText(s: string): string {
  // C0 controls except \n and \t, DEL, and C1 controls (which include CSI/OSC introducers).
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
