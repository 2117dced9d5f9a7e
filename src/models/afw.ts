/**
 * Ada2I's Adaptive Feature Weighting (AFW; Nguyen et al., ACM MM 2024, sec. 3.2), stacked over
 * per-utterance modality features of padded conversations.
 *
 * One layer, for every modality m with features Z_m (B, T, d_m):
 *
 *   G_Q = (Z W_Q1) outer (Z W_Q2),  G_K = (Z W_K1) outer (Z W_K2)   (B, T, R, R) per utterance
 *   G_m = G_Q * G_K                                                element-wise (no softmax)
 *   A_m = mean over the dialogue's time steps of G_m               (B, R, R), one per dialogue
 *   C_m = G_m A_l1 A_l2 ...   right-multiplied by A_l of every other modality, in modality order
 *   Att_m = Linear(R*R -> d_m)(flatten(C_m))
 *   Z_m' = dropout(Att_m * Z_m + beta * Z_m)
 *
 * and the attention-mapping loss of the layer, an FFN Phi_m = Linear(d_m -> d_m) predicting the
 * target from Z_m:
 *
 *   L = sum over m, positions p, features f of |Phi_m(Z_m) - target_m| / (count * sum_m d_m)
 *
 * Two behaviours, chosen by `parity`:
 * - parity false (default; the paper, with padding handled): A_m averages the real utterances of
 *   each dialogue only; the target is Att_m; the loss sums and counts real utterances only. The
 *   real utterances' outputs and the loss then do not depend on what the padded steps hold.
 * - parity true (the authors' code, exactly): A_m averages every step, padding included; the
 *   target is the layer's output Z_m' before dropout (the code aliases the list of attention maps
 *   with the list of outputs); the loss averages every position, padding included.
 *
 * Notes on choices the paper leaves open:
 * - Every projection has a bias, as in the authors' code (its Linear wrapper defaults to bias).
 * - The loss is an average over every element of every modality (the code's L1Loss over the
 *   modalities concatenated; with equal d_m this is the mean of the per-modality means). The
 *   paper's eq. 12 sums over features and modalities instead: the same value times sum_m d_m.
 * - No gradient is stopped: the loss trains the FFN and also pulls the attention branch (or, with
 *   parity, the output) toward the prediction, as in the code.
 * - The loss is computed in eval mode too (the code computes it only when training); callers
 *   ignore it there.
 * - The contraction order is `order` (default: `modalities`); matrix products do not commute. The
 *   authors' runs use a, t, v, which the Ada2I presets set.
 * - A dialogue with no real utterance gets A_m = 0 and adds nothing to the loss (no NaN).
 * - Outputs at padded positions are computed like any other (not zeroed); consumers drop them.
 */
import { checkInt, checkNumber, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import { cat } from '../engine/ops.js';
import type { Tensor } from '../engine/tensor.js';
import { Linear, ModuleDict, ModuleList } from '../nn/layers.js';
import { Module } from '../nn/module.js';

export interface AFWOptions {
  /** Tensor-ring rank R (Ada2I: IEMOCAP 11, MELD 6). Default 11. */
  rank?: number;
  /** Weight of the residual term beta * Z_m, in [0, 1] (Ada2I: IEMOCAP 0.012, MELD 0.55). Default 0.012. */
  beta?: number;
  /** Dropout on each layer's outputs. Default 0.5 (the authors' drop rate). */
  dropout?: number;
  /** Number of stacked layers. Default 2. */
  layers?: number;
  /**
   * true: reproduce the authors' code exactly (pooled means over padding too, the loss target is
   * the layer's output, the loss averages every position). Default false (the paper, masked).
   */
  parity?: boolean;
  /**
   * The order in which the other modalities' pooled matrices multiply in the contraction (matrix
   * products do not commute): a permutation of the modalities. Default: the modalities' order.
   */
  order?: string[];
}

/** The authors' run-script settings (AFW part). */
export const AFW_PRESETS = {
  iemocap: { rank: 11, beta: 0.012, dropout: 0.5, layers: 2 },
  meld: { rank: 6, beta: 0.55, dropout: 0.5, layers: 2 },
} as const satisfies Record<string, AFWOptions>;

export interface AFWOutput {
  /** modality -> (B, T, d_m) reweighted features (padded positions included). */
  features: Record<string, Tensor>;
  /** Attention-mapping loss: a scalar, summed over the layers (weight 1). */
  loss: Tensor;
}

function checkModalities(modalities: unknown, dims: unknown): { modalities: string[]; dims: Record<string, number> } {
  if (!Array.isArray(modalities) || modalities.length === 0) throw invalid('modalities', 'a non-empty array of names', modalities);
  const seen = new Set<string>();
  for (const m of modalities as unknown[]) {
    if (typeof m !== 'string' || m === '' || m.includes('.') || seen.has(m))
      throw invalid('modalities', 'distinct non-empty names without dots', modalities);
    seen.add(m);
  }
  if (typeof dims !== 'object' || dims === null) throw invalid('dims', 'an object of feature sizes by modality', dims);
  const out: Record<string, number> = {};
  for (const m of modalities as string[]) out[m] = checkInt(`dims.${m}`, (dims as Record<string, unknown>)[m], 1);
  return { modalities: [...(modalities as string[])], dims: out };
}

function resolveOrder(order: unknown, modalities: string[]): string[] {
  if (order === undefined) return [...modalities];
  const ok =
    Array.isArray(order) &&
    order.length === modalities.length &&
    new Set(order).size === order.length &&
    order.every((m) => typeof m === 'string' && modalities.includes(m));
  if (!ok) throw invalid('order', `a permutation of the modalities (${modalities.join(', ')})`, order);
  return [...(order as string[])];
}

function resolveOptions(o: AFWOptions, modalities: string[]): Required<AFWOptions> {
  if (typeof o !== 'object' || o === null) throw invalid('options', 'an options object', o);
  const parity = o.parity ?? false;
  if (typeof parity !== 'boolean') throw invalid('parity', 'a boolean', parity);
  return {
    rank: checkInt('rank', o.rank ?? 11, 1),
    beta: checkNumber('beta', o.beta ?? 0.012, 0, 1),
    dropout: checkNumber('dropout', o.dropout ?? 0.5, 0, 1),
    layers: checkInt('layers', o.layers ?? 2, 1),
    parity,
    order: resolveOrder(o.order, modalities),
  };
}

/** The projections of one modality in one layer. */
export class AFWModalityBlock extends Module {
  readonly wq1: Linear;
  readonly wq2: Linear;
  readonly wk1: Linear;
  readonly wk2: Linear;
  /** Linear(R*R -> d): the contracted cores to feature-aware weights Att_m. */
  readonly att: Linear;
  /** The attention-mapping FFN Phi_m, Linear(d -> d). */
  readonly mapping: Linear;
  constructor(
    readonly dim: number,
    readonly rank: number,
  ) {
    super();
    this.wq1 = this.registerModule('wq1', new Linear(dim, rank));
    this.wq2 = this.registerModule('wq2', new Linear(dim, rank));
    this.wk1 = this.registerModule('wk1', new Linear(dim, rank));
    this.wk2 = this.registerModule('wk2', new Linear(dim, rank));
    this.att = this.registerModule('att', new Linear(rank * rank, dim));
    this.mapping = this.registerModule('mapping', new Linear(dim, dim));
  }
  /** G = G_Q * G_K, (B, T, R, R), from Z (B, T, d). */
  cores(z: Tensor): Tensor {
    // The four rank projections as one product with 4R outputs (one read of Z instead of four,
    // and a matrix wide enough for the BLAS kernels); the parameters keep their own names.
    const ps = [this.wq1, this.wq2, this.wk1, this.wk2];
    const w = cat(
      ps.map((l) => l.weight),
      0,
    );
    const bias = cat(
      ps.map((l) => l.bias!),
      0,
    );
    const [q1, q2, k1, k2] = F.linear(z, w, bias).chunk(4, -1) as [Tensor, Tensor, Tensor, Tensor];
    const gq = q1.unsqueeze(-1).mul(q2.unsqueeze(-2));
    const gk = k1.unsqueeze(-1).mul(k2.unsqueeze(-2));
    return gq.mul(gk);
  }
  forward(): never {
    throw new Error('AFWModalityBlock has no forward(); AFWLayer uses its parts');
  }
}

/** Checks the features and mask against the modalities and dims; returns [B, T]. */
function checkInputs(modalities: string[], dims: Record<string, number>, z: Record<string, Tensor>, mask: Tensor | null): [number, number] {
  if (typeof z !== 'object' || z === null) throw invalid('features', 'an object of (B, T, d_m) tensors by modality', z);
  for (const k of Object.keys(z)) if (!modalities.includes(k)) throw invalid('features', `only the modalities ${modalities.join(', ')}`, k);
  let bt: [number, number] | null = null;
  for (const m of modalities) {
    const t = z[m];
    if (t === undefined || t === null) throw invalid(`features.${m}`, 'a (B, T, d) tensor', t);
    const s = t.shape;
    if (s.length !== 3 || s[2] !== dims[m]) throw invalid(`features.${m}.shape`, `[B, T, ${dims[m]}]`, s);
    if (bt === null) bt = [s[0]!, s[1]!];
    else if (s[0] !== bt[0] || s[1] !== bt[1])
      throw invalid(`features.${m}.shape`, `[${bt[0]}, ${bt[1]}, ${dims[m]}] (the same B, T as ${modalities[0]})`, s);
  }
  const [b, t] = bt!;
  if (mask !== null) {
    if (mask.dtype !== 'bool') throw invalid('mask.dtype', "'bool' (true = real utterance)", mask.dtype);
    if (mask.shape.length !== 2 || mask.shape[0] !== b || mask.shape[1] !== t) throw invalid('mask.shape', `[${b}, ${t}]`, mask.shape);
  }
  return [b, t];
}

/** One AFW layer over all modalities. Parameters: `modalities.<m>.{wq1,wq2,wk1,wk2,att,mapping}.{weight,bias}`. */
export class AFWLayer extends Module {
  readonly modalities: string[];
  readonly dims: Record<string, number>;
  readonly rank: number;
  readonly beta: number;
  readonly dropout: number;
  readonly parity: boolean;
  /** Contraction order of the pooled matrices. */
  readonly order: string[];
  readonly blocks: ModuleDict<AFWModalityBlock>;

  constructor(modalities: string[], dims: Record<string, number>, options: AFWOptions = {}) {
    super();
    const c = checkModalities(modalities, dims);
    const o = resolveOptions(options, c.modalities);
    this.modalities = c.modalities;
    this.dims = c.dims;
    this.order = o.order;
    this.rank = o.rank;
    this.beta = o.beta;
    this.dropout = o.dropout;
    this.parity = o.parity;
    this.blocks = this.registerModule('modalities', new ModuleDict<AFWModalityBlock>());
    for (const m of this.modalities) this.blocks.set(m, new AFWModalityBlock(this.dims[m]!, this.rank));
  }

  /**
   * features: modality -> (B, T, d_m); mask: (B, T) bool, true = real utterance, or null (every
   * step real). Returns the reweighted features and this layer's attention-mapping loss.
   */
  forward(features: Record<string, Tensor>, mask: Tensor | null = null): AFWOutput {
    const [b, t] = checkInputs(this.modalities, this.dims, features, mask);
    // (B, T) bool, true at the padded steps to leave out; null when every position counts.
    // maskedFill (not a multiplication by 0) keeps even non-finite padding out of the results.
    const padding = mask === null || this.parity ? null : mask.logicalNot();
    const r = this.rank;

    const cores: Record<string, Tensor> = {};
    const pooled: Record<string, Tensor> = {};
    for (const m of this.modalities) {
      const g = this.blocks.get(m).cores(features[m]!);
      cores[m] = g;
      if (padding === null) {
        pooled[m] = g.mean(1);
      } else {
        const count = mask!.sum(1).to({ dtype: g.dtype }).clampMin(1).reshape(b, 1, 1);
        pooled[m] = g
          .maskedFill(padding.reshape(b, t, 1, 1), 0)
          .sum(1)
          .div(count);
      }
    }

    const out: Record<string, Tensor> = {};
    let absSum: Tensor | null = null;
    for (const m of this.modalities) {
      const block = this.blocks.get(m);
      const z = features[m]!;
      // C = G A_l per utterance, as one (T*R, R) @ (R, R) product per dialogue: the same sums as a
      // (B, T, R, R) @ (B, 1, R, R) broadcast, which libtorch runs as B*T tiny matrix products.
      let c = cores[m]!.reshape(b, t * r, r);
      for (const l of this.order) if (l !== m) c = F.batchMatmul(c, pooled[l]!);
      const att = block.att.forward(c.reshape(b, t, r * r));
      const y = att.mul(z).add(z.mul(this.beta));
      const diff = block.mapping
        .forward(z)
        .sub(this.parity ? y : att)
        .abs();
      const s = padding === null ? diff.sum() : diff.maskedFill(padding.unsqueeze(-1), 0).sum();
      absSum = absSum === null ? s : absSum.add(s);
      out[m] = F.dropout(y, this.dropout, this.training);
    }

    const featureCount = this.modalities.reduce((a, m) => a + this.dims[m]!, 0);
    const loss =
      padding === null
        ? absSum!.div(b * t * featureCount)
        : absSum!.div(mask!.sum().to({ dtype: absSum!.dtype }).clampMin(1).mul(featureCount));
    return { features: out, loss };
  }
}

/**
 * AFW: `layers` AFWLayers in sequence (`layers.0`, `layers.1`, ...). The loss is the sum of the
 * layers' attention-mapping losses.
 */
export class AFW extends Module {
  readonly modalities: string[];
  readonly dims: Record<string, number>;
  readonly options: Readonly<Required<AFWOptions>>;
  readonly layers: ModuleList<AFWLayer>;

  constructor(modalities: string[], dims: Record<string, number>, options: AFWOptions = {}) {
    super();
    const c = checkModalities(modalities, dims);
    this.modalities = c.modalities;
    this.dims = c.dims;
    this.options = Object.freeze(resolveOptions(options, c.modalities));
    this.layers = this.registerModule('layers', new ModuleList<AFWLayer>());
    for (let i = 0; i < this.options.layers; i++) this.layers.append(new AFWLayer(this.modalities, this.dims, this.options));
  }

  /**
   * features: modality -> (B, T, d_m); mask: (B, T) bool, true = real utterance, or null.
   * Returns modality -> (B, T, d_m) and the scalar loss summed over the layers.
   */
  forward(features: Record<string, Tensor>, mask: Tensor | null = null): AFWOutput {
    checkInputs(this.modalities, this.dims, features, mask);
    let z = features;
    let loss: Tensor | null = null;
    for (const layer of this.layers.items) {
      const o = layer.forward(z, mask);
      z = o.features;
      loss = loss === null ? o.loss : loss.add(o.loss);
    }
    return { features: z, loss: loss! };
  }
}
