import { invalid } from '../errors.js';
import { noGrad } from '../grad_mode.js';
import { disposeHandles, native } from '../native.js';

export { disposeHandles };
import type { GradEdits } from '../grad_edits.js';
import { keep } from '../scope.js';
import { type Handle, Tensor } from '../tensor.js';

/** Per-parameter optimizer state: a step count and named buffers. */
export interface ParamState {
  step: number;
  buffers: Record<string, Tensor>;
}

/** A parameter group; `name` lets methods find a group (a modality's encoder, say). */
export type ParamGroup<O> = O & { params: Tensor[]; name?: string };
export type ParamsArg<O> = Iterable<Tensor> | (Partial<O> & { params: Iterable<Tensor>; name?: string })[];

/** What stateDict() returns: PyTorch's layout, parameters referred to by position. */
export interface OptimizerStateDict {
  state: Record<number, { step: number; buffers: Record<string, Tensor> }>;
  paramGroups: Record<string, unknown>[];
}

/**
 * Base of every optimizer: parameter groups whose hyperparameters (lr first) may change between
 * steps, zeroGrad, a state reset and state save/load. Subclasses implement `update` for one group.
 */
export abstract class Optimizer<O extends { lr: number }> {
  readonly paramGroups: ParamGroup<O>[];
  readonly state = new Map<Tensor, ParamState>();
  readonly defaults: O;

  constructor(params: ParamsArg<O>, defaults: O) {
    this.defaults = defaults;
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw invalid('params', 'at least one parameter', list);
    const groups =
      list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : (list as (Partial<O> & { params: Iterable<Tensor>; name?: string })[]);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      const ps = [...g.params];
      for (const p of ps) {
        if (!(p instanceof Tensor)) throw invalid(`params of group ${gi}`, 'tensors', p);
        if (seen.has(p)) throw invalid(`params of group ${gi}`, 'each parameter in one group only', 'a parameter listed twice');
        seen.add(p);
      }
      return { ...defaults, ...g, params: ps } as ParamGroup<O>;
    });
    for (const g of this.paramGroups) {
      if (!(g.lr >= 0)) throw invalid('lr', 'a number >= 0', g.lr);
    }
  }

  /** Clears gradients: to none (default, as PyTorch 2) or to zero. */
  zeroGrad(setToNone = true): void {
    const all = this.paramGroups.flatMap((g) => g.params.map((p) => p.h));
    if (setToNone) {
      native.clearGrads(all);
    } else {
      const gs = (native.grads(all) as (Handle | null)[]).filter((g): g is Handle => g !== null);
      if (gs.length > 0) native.foreachZero_(gs);
      disposeHandles(gs);
    }
  }

  /**
   * One update of every parameter that has a gradient. Pending gradient edits (clipping, the
   * modulation's scaling and noise) are folded into the update where the optimizer can (the fused
   * Adam), else written into the gradients first.
   */
  step(edits: GradEdits | null = null): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        const grads = native.grads(g.params.map((p) => p.h)) as (Handle | null)[];
        const ps: Tensor[] = [];
        const gs: Handle[] = [];
        g.params.forEach((p, i) => {
          if (grads[i] !== null) {
            ps.push(p);
            gs.push(grads[i]!);
          }
        });
        try {
          let fold: GradEdits | null = null;
          if (edits !== null && ps.length > 0 && edits.pending(ps)) {
            if (this.foldsEdits(g, ps)) fold = edits;
            else edits.apply(ps);
          }
          if (ps.length > 0) this.update(g, ps, gs, fold);
        } finally {
          // These handles alias the gradients; releasing them lets zeroGrad free the storage.
          disposeHandles(gs);
        }
      }
    });
  }

  /** Whether update() applies pending gradient edits itself for this group (else step() writes them first). */
  protected foldsEdits(_group: ParamGroup<O>, _params: Tensor[]): boolean {
    return false;
  }

  /** Updates one group; `edits` is non-null only when foldsEdits said yes and some are pending. */
  protected abstract update(group: ParamGroup<O>, params: Tensor[], grads: Handle[], edits: GradEdits | null): void;

  /** The state of p, created with zero-filled buffers on first use. */
  protected stateOf(p: Tensor, buffers: readonly string[]): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = { step: 0, buffers: {} };
      for (const b of buffers) s.buffers[b] = keep(new Tensor(native.zerosLike(p.h)));
      this.state.set(p, s);
    }
    return s;
  }

  /** Forgets all accumulated state (moments, momentum, step counts); hyperparameters stay. */
  resetState(): void {
    for (const s of this.state.values()) for (const b of Object.values(s.buffers)) b.dispose();
    this.state.clear();
  }

  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    let i = 0;
    for (const g of this.paramGroups) for (const p of g.params) index.set(p, i++);
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const buffers: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(s.buffers)) buffers[k] = v.clone();
      state[index.get(p)!] = { step: s.step, buffers };
    }
    let j = 0;
    const paramGroups = this.paramGroups.map(({ params, ...rest }) => ({ ...rest, params: params.map(() => j++) }));
    return { state, paramGroups };
  }

  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw invalid('state dict', `${this.paramGroups.length} parameter groups`, `${sd.paramGroups.length} groups`);
    }
    const flat: Tensor[] = [];
    this.paramGroups.forEach((g, gi) => {
      const saved = sd.paramGroups[gi]!;
      const n = (saved.params as number[] | undefined)?.length;
      if (n !== g.params.length) throw invalid(`state dict group ${gi}`, `${g.params.length} parameters`, `${n}`);
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') (g as Record<string, unknown>)[k] = v;
      flat.push(...g.params);
    });
    this.resetState();
    for (const [k, s] of Object.entries(sd.state)) {
      const p = flat[Number(k)];
      if (p === undefined) throw invalid('state dict', `parameter indices below ${flat.length}`, k);
      const buffers: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(s.buffers)) {
        const same = t.shape.join() === p.shape.join();
        if (!same) throw invalid(`state of parameter ${k} buffer ${name}`, `shape [${p.shape.join(', ')}]`, `[${t.shape.join(', ')}]`);
        buffers[name] = keep(t.to({ dtype: p.dtype, device: p.device, copy: true }));
      }
      this.state.set(p, { step: s.step, buffers });
    }
  }
}
