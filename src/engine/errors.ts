/** An error raised inside libtorch (shape mismatch, bad dtype, index out of range...), with its message. */
export class TorchError extends Error {
  override name = 'TorchError';
  constructor(message: string) {
    super(message);
  }
}

/** A bad argument caught before reaching native code; the message names the argument and what was expected. */
export class ArgumentError extends TypeError {
  override name = 'ArgumentError';
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(show).join(', ')}${value.length > 8 ? ', ...' : ''}]`;
  return (value as object).constructor?.name ?? 'object';
}

/** "Expected <what> for <name> but received <value>": the one shape of every argument error. */
export function invalid(name: string, expected: string, received: unknown): ArgumentError {
  return new ArgumentError(`Expected ${expected} for ${name} but received ${show(received)}`);
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export function checkInt(name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (!isInt(v) || v < min || v > max) {
    const range =
      min === -Infinity && max === Infinity ? 'integer' : max === Infinity ? `integer >= ${min}` : `integer between ${min} and ${max}`;
    throw invalid(name, range, v);
  }
  return v;
}

export function checkNumber(name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max) {
    const range =
      min === -Infinity && max === Infinity ? 'number' : max === Infinity ? `number >= ${min}` : `number between ${min} and ${max}`;
    throw invalid(name, range, v);
  }
  return v;
}

export function checkShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => isInt(d) && d >= 0)) {
    throw invalid(name, 'an array of non-negative integers', shape);
  }
  return shape as number[];
}

export function checkOneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw invalid(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
  }
  return v as T;
}
