import { native } from './native.js';

export function isGradEnabled(): boolean {
  return native.isGradEnabled() as boolean;
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = isGradEnabled();
  native.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn without recording operations for autograd; the previous mode comes back after. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with autograd recording on (inside a noGrad, say); the previous mode comes back after. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function setGradEnabled(enabled: boolean): void {
  native.setGradEnabled(Boolean(enabled));
}
