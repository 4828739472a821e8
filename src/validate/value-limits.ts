// Size limits applied to every result a plugin sends, before anything is kept.
// They bound what one message can hold; run limits (results, errors, bytes) bound the stream.

export interface ValueLimits {
  /** Longest string in a directive, in UTF-16 code units. @default 16384 */
  maxStringLength: number;
  /** Longest error message a plugin may report (tracebacks included). @default 65536 */
  maxErrorMessageLength: number;
  /** Deepest nesting of objects and arrays in one message. @default 16 */
  maxDepth: number;
  /** Most items in any one array (tags, links, custom values). @default 1024 */
  maxArrayItems: number;
  /** Most keys in any one object. @default 256 */
  maxObjectKeys: number;
  /** Most postings in one transaction. @default 1000 */
  maxPostings: number;
  /** Most keys in one metadata mapping (directive or posting). @default 64 */
  maxMetaKeys: number;
}

export const DEFAULT_VALUE_LIMITS: Readonly<ValueLimits> = Object.freeze({
  maxStringLength: 16_384,
  maxErrorMessageLength: 65_536,
  maxDepth: 16,
  maxArrayItems: 1_024,
  maxObjectKeys: 256,
  maxPostings: 1_000,
  maxMetaKeys: 64,
});
