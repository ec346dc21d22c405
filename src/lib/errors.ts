/**
 * Errors that aelab raises on purpose. Every message names the thing that is wrong
 * (argument, file, column, backend), the value found and what was expected, so a user
 * can act on it without reading a stack trace.
 */
export class AelabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A function argument or option has a value the function cannot use. */
export class ArgumentError extends AelabError {
  /**
   * @param argument name of the argument or option, e.g. `batchSize`
   * @param value the value that was passed
   * @param expected what would have been accepted, e.g. `an integer >= 1`
   */
  constructor(
    readonly argument: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${argument} must be ${expected}; got ${describeValue(value)}`);
  }
}

/** A data file is missing, unreadable, truncated or not in the expected format. */
export class DataFormatError extends AelabError {
  /**
   * @param file path of the offending file
   * @param problem what is wrong with it, in words
   */
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** A requested TensorFlow.js backend cannot be used. */
export class BackendError extends AelabError {}

/** Short printable form of a value for error messages (never the whole of a big array). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) {
    const head = value.slice(0, 6).map(describeValue).join(', ');
    return `[${head}${value.length > 6 ? `, ... (${value.length} items)` : ''}]`;
  }
  if (typeof value === 'object' && value !== null && 'shape' in value && 'dtype' in value) {
    const t = value as { shape: number[]; dtype: string };
    return `a ${t.dtype} tensor of shape [${t.shape.join(', ')}]`;
  }
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(value);
  }
}

/** Throws an ArgumentError unless `value` is an integer in [min, max]. */
export function checkInteger(argument: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range =
      max === Infinity ? (min === -Infinity ? '' : ` >= ${min}`) : ` in [${min}, ${max}]`;
    throw new ArgumentError(argument, value, `an integer${range}`);
  }
  return value;
}

/** Throws an ArgumentError unless `value` is a finite number in [min, max]. */
export function checkNumber(argument: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range =
      max === Infinity ? (min === -Infinity ? '' : ` >= ${min}`) : ` in [${min}, ${max}]`;
    throw new ArgumentError(argument, value, `a finite number${range}`);
  }
  return value;
}
