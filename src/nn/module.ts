import { type Device } from '../engine/device.js';
import { type DType } from '../engine/dtype.js';
import { invalid } from '../engine/errors.js';
import { noGrad } from '../engine/grad_mode.js';
import { native } from '../engine/native.js';
import { keep } from '../engine/scope.js';
import { Tensor } from '../engine/tensor.js';

export type StateDict = Map<string, Tensor>;

/**
 * Base of every layer and model. Parameters, buffers and sub-modules are registered by name, so
 * `stateDict()` keys match PyTorch's (`encoder.layers.0.self_attn.in_proj_weight`) and weights
 * move between the two through safetensors.
 */
export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly buffers = new Map<string, Tensor | null>();
  private readonly modules = new Map<string, Module>();

  protected registerParameter(name: string, t: Tensor | null): Tensor {
    if (t !== null) {
      keep(t);
      if (!t.requiresGrad) t.requiresGrad_(true);
    }
    this.params.set(name, t);
    return t as Tensor;
  }

  protected registerBuffer(name: string, t: Tensor | null): Tensor {
    if (t !== null) keep(t);
    this.buffers.set(name, t);
    return t as Tensor;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (!(m instanceof Module)) throw invalid(`module '${name}'`, 'a Module', m);
    this.modules.set(name, m);
    return m;
  }

  /** A registered parameter by its own (unprefixed) name. */
  protected param(name: string): Tensor {
    const p = this.params.get(name);
    if (p === undefined || p === null) throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    return p;
  }

  protected optionalParam(name: string): Tensor | null {
    return this.params.get(name) ?? null;
  }

  protected buffer(name: string): Tensor | null {
    return this.buffers.get(name) ?? null;
  }

  abstract forward(...args: never[]): unknown;

  *namedChildren(): Generator<[string, Module]> {
    yield* this.modules.entries();
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this.modules) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }

  /** Parameters in PyTorch's order: own (in registration order), then each child's. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, p] of m.params) {
        if (p !== null && !seen.has(p)) {
          seen.add(p);
          out.push([mp ? `${mp}.${n}` : n, p]);
        }
      }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, b] of m.buffers) if (b !== null) out.push([mp ? `${mp}.${n}` : n, b]);
    }
    return out;
  }

  /** Number of scalar parameters. */
  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.numel(), 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    native.clearGrads(this.parameters().map((p) => p.h));
  }

  /** Parameters and buffers by PyTorch name. The tensors are the live ones (detached views). */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const [mp, m] of this.namedModules()) {
      for (const [n, p] of m.params) if (p !== null) sd.set(mp ? `${mp}.${n}` : n, p.detach());
      for (const [n, b] of m.buffers) if (b !== null) sd.set(mp ? `${mp}.${n}` : n, b.detach());
    }
    return sd;
  }

  /**
   * Copies values into the parameters and buffers. With strict (default) the key sets must match;
   * errors list the missing and unexpected keys and any shape mismatch.
   */
  loadStateDict(sd: StateDict | Record<string, Tensor>, strict = true): { missing: string[]; unexpected: string[] } {
    const given = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = new Map<string, Tensor>();
    for (const [mp, m] of this.namedModules()) {
      for (const [n, p] of m.params) if (p !== null) own.set(mp ? `${mp}.${n}` : n, p);
      for (const [n, b] of m.buffers) if (b !== null) own.set(mp ? `${mp}.${n}` : n, b);
    }
    const missing = [...own.keys()].filter((k) => !given.has(k));
    const unexpected = [...given.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts = [];
      if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
      throw new Error(
        `loadStateDict: the state dict does not match the model (${parts.join('; ')}). Pass strict=false to load the keys that match.`,
      );
    }
    const mismatched: string[] = [];
    for (const [k, t] of given) {
      const dst = own.get(k);
      if (dst && dst.shape.join() !== t.shape.join())
        mismatched.push(`${k}: model [${dst.shape.join(', ')}], file [${t.shape.join(', ')}]`);
    }
    if (mismatched.length) throw new Error(`loadStateDict: shape mismatch for ${mismatched.join('; ')}`);
    noGrad(() => {
      for (const [k, t] of given) own.get(k)?.copy_(t);
    });
    return { missing, unexpected };
  }

  /** Moves or casts every parameter and buffer in place (call before creating the optimizer). */
  to(o: { device?: Device; dtype?: DType }): this {
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        for (const [n, p] of m.params) {
          if (p === null) continue;
          const dtype =
            p.dtype === 'float32' || p.dtype === 'float64' || p.dtype === 'float16' || p.dtype === 'bfloat16' ? o.dtype : undefined;
          const moved = p.to({ dtype, device: o.device }).detach();
          m.params.set(n, keep(moved).requiresGrad_(true));
        }
        for (const [n, b] of m.buffers) {
          if (b === null) continue;
          const floating = b.dtype === 'float32' || b.dtype === 'float64' || b.dtype === 'float16' || b.dtype === 'bfloat16';
          // Floating buffers (BatchNorm's running statistics) follow the dtype as PyTorch's do; counters keep theirs.
          m.buffers.set(n, keep(b.to({ device: o.device, dtype: floating ? o.dtype : undefined })));
        }
      }
    });
    return this;
  }
}
