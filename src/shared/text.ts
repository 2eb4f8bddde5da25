// PostgreSQL stores neither the NUL character nor half of a UTF-16 surrogate pair (JSON may carry
// both as \u escapes); text from outside is checked with this before it can reach the database.

const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether PostgreSQL can store this text. */
export const isStorable = (text: string): boolean => !UNSTORABLE.test(text);

/** Whether a value (a string, or any JSON value's strings and keys) can be stored. */
export function isStorableValue(value: unknown): boolean {
  if (typeof value === 'string') return isStorable(value);
  if (Array.isArray(value)) return value.every(isStorableValue);
  if (value && typeof value === 'object') {
    return Object.entries(value).every(([k, v]) => isStorable(k) && isStorableValue(v));
  }
  return true;
}
