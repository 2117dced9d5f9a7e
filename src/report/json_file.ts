import { readFileSync } from 'node:fs';
import { ReportError } from './errors.js';

/** Reads a JSON object from a file, with an error naming the file and what it should have been. */
export function readJsonObject(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReportError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ReportError(`${path} is not valid JSON (${(e as Error).message}); it should be ${what}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ReportError(`${path} should hold ${what}, a JSON object`);
  return value as Record<string, unknown>;
}

/** Throws unless `value` passes `ok`, naming the file, the field and what it should be. */
export function expectField(ok: boolean, file: string, field: string, expected: string): void {
  if (!ok) throw new ReportError(`${file}: '${field}' should be ${expected}; is the file from this version of mmbalance?`);
}

export function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
