// Title-cases payees that are all lower case ("corner market" -> "Corner Market").
// Directives arrive as protocol JSON objects; returning them (edited or not) is all it takes.
export default function payeeCase(directives) {
  const errors = [];
  for (const d of directives) {
    if (d.type === 'Transaction' && d.payee && d.payee === d.payee.toLowerCase()) {
      d.payee = d.payee.replace(/\b\p{L}/gu, (c) => c.toUpperCase());
    }
  }
  return { directives, errors };
}
