// PostgreSQL stores neither the NUL character nor half of a UTF-16 surrogate pair (JSON may carry
// both as \u escapes); text from outside is checked with this before it can reach the database.
// Nothing here recurses: what it walks comes from clients, who choose how deep it goes.

const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether PostgreSQL can store this text. */
export const isStorable = (text: string): boolean => !UNSTORABLE.test(text);

/** Whether a value (a string, or any JSON value's strings and keys) can be stored. */
export function isStorableValue(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (!isStorable(v)) return false;
    } else if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        if (!isStorable(k)) return false;
        stack.push(inner);
      }
    }
  }
  return true;
}

/** How deep a request body may nest objects and arrays: far more than any of our schemas needs. */
export const MAX_JSON_DEPTH = 32;

/**
 * The deepest nesting of objects and arrays in JSON text, read without parsing it, so that a body
 * can be refused before anything walks it. Brackets inside strings do not count.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}
