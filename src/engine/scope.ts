/**
 * Tensor lifetimes. `scope(fn)` frees every tensor created while fn runs, except the ones it
 * returns (found anywhere in the returned value: arrays, Sets, Maps, plain objects and the own
 * properties of class instances) and the ones marked with `keep()`. Returned
 * tensors move to the enclosing scope, so nested scopes compose. A finalizer in the native
 * handle frees anything left to the garbage collector.
 */
export interface Owned {
  dispose(): void;
  /** Set by keep(): no scope will dispose it. */
  kept: boolean;
}

const stack: Owned[][] = [];
let current: Owned[] | null = null;

export function track(t: Owned): void {
  if (current !== null) current.push(t);
}

function collect(value: unknown, into: Set<unknown>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ('kept' in value && typeof (value as Owned).dispose === 'function') {
    into.add(value);
    return;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Promise) return;
  if (Array.isArray(value) || value instanceof Set) {
    for (const v of value) collect(v, into, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      collect(k, into, seen);
      collect(v, into, seen);
    }
  } else {
    // Plain objects and class instances alike: their own enumerable properties.
    for (const v of Object.values(value)) collect(v, into, seen);
  }
}

export function scope<T>(fn: () => T): T {
  const list: Owned[] = [];
  stack.push(list);
  current = list;
  let result: T;
  let ok = false;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new TypeError(
        'scope() takes a synchronous function: tensors cannot be tracked across await. Use a scope inside the async function, around the synchronous part.',
      );
    }
    ok = true;
  } finally {
    stack.pop();
    current = stack.length > 0 ? stack[stack.length - 1]! : null;
    const returned = new Set<unknown>();
    if (ok) collect(result!, returned, new Set());
    for (const t of list) {
      if (t.kept) continue;
      if (returned.has(t)) {
        if (current !== null) current.push(t);
      } else {
        t.dispose();
      }
    }
  }
  return result;
}

/** Keeps tensors alive past every scope (until dispose() or garbage collection). */
export function keep<T extends Owned | Owned[]>(t: T): T {
  if (Array.isArray(t)) for (const x of t) x.kept = true;
  else t.kept = true;
  return t;
}

/** How many scopes are open (for tests and diagnostics). */
export function scopeDepth(): number {
  return stack.length;
}
