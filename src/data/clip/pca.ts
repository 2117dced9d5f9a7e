/**
 * Principal components for degrading images: a symmetric eigendecomposition in float64
 * (Householder reduction to tridiagonal form, then implicit QL with Wilkinson shifts) and the
 * removal of the leading components that hold a given fraction of the variance.
 */
import { fromTypedArray, scope } from '../../engine/index.js';

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Row-major [n, n]: row j is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/**
 * All eigenvalues and eigenvectors of the symmetric n x n matrix `a` (row-major; only read,
 * and assumed symmetric). O(n^3): about a second for n = 784.
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new RangeError(`symmetricEigen: a matrix of ${n} x ${n} needs ${n * n} values, got ${a.length}`);
  const { diag, off, basis } = tridiagonalise(a, n);
  diagonaliseTridiagonal(diag, off, basis, n);
  // Sort largest first, carrying the vectors along.
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => diag[j]! - diag[i]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = diag[src]!;
    vectors.set(basis.subarray(src * n, src * n + n), dst * n);
  });
  return { values, vectors };
}

/**
 * Q^T A Q = T with T tridiagonal (diag, off: off[i] couples i and i+1), by n-2 Householder
 * reflections H_k that zero column k below the subdiagonal. Returns basis = Q^T (row i is
 * column i of Q), so that rotating T's rows i, i+1 later rotates two contiguous rows here.
 */
function tridiagonalise(a: Float64Array, n: number): { diag: Float64Array; off: Float64Array; basis: Float64Array } {
  const A = a.slice();
  const diag = new Float64Array(n);
  const off = new Float64Array(n);
  const reflectors: { v: Float64Array; beta: number }[] = [];
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const m = n - k - 1;
    // x = A[k+1.., k], read from row k (symmetry) so the access is contiguous.
    const v = A.slice(k * n + k + 1, k * n + n);
    let tail = 0;
    for (let i = 1; i < m; i++) tail += v[i]! * v[i]!;
    diag[k] = A[k * n + k]!;
    if (tail === 0) {
      // Already zero below the subdiagonal: H_k = I.
      off[k] = v[0]!;
      reflectors.push({ v, beta: 0 });
      continue;
    }
    const norm = Math.sqrt(v[0]! * v[0]! + tail);
    const alpha = v[0]! > 0 ? -norm : norm;
    v[0] = v[0]! - alpha;
    const beta = 2 / (v[0]! * v[0]! + tail);
    off[k] = alpha;
    // Trailing block B = A[k+1.., k+1..] <- H B H = B - v w^T - w v^T, with p = beta B v and
    // w = p - (beta / 2)(v^T p) v.
    const o = k + 1;
    let vp = 0;
    for (let i = 0; i < m; i++) {
      const row = (o + i) * n + o;
      let s = 0;
      for (let j = 0; j < m; j++) s += A[row + j]! * v[j]!;
      p[i] = beta * s;
      vp += v[i]! * p[i]!;
    }
    const c = (beta / 2) * vp;
    for (let i = 0; i < m; i++) p[i] = p[i]! - c * v[i]!;
    for (let i = 0; i < m; i++) {
      const row = (o + i) * n + o;
      const vi = v[i]!;
      const wi = p[i]!;
      for (let j = 0; j < m; j++) A[row + j] = A[row + j]! - vi * p[j]! - wi * v[j]!;
    }
    reflectors.push({ v, beta });
  }
  if (n >= 2) {
    diag[n - 2] = A[(n - 2) * n + n - 2]!;
    off[n - 2] = A[(n - 1) * n + n - 2]!;
  }
  diag[n - 1] = A[n * n - 1]!;

  // Q = H_0 H_1 ... H_{n-3}, accumulated from the right end: before H_k is applied, the product
  // differs from I only in the block below and right of k + 1, so each step costs O((n - k)^2).
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Q[i * n + i] = 1;
  const u = new Float64Array(n);
  for (let k = reflectors.length - 1; k >= 0; k--) {
    const { v, beta } = reflectors[k]!;
    if (beta === 0) continue;
    const o = k + 1;
    const m = n - o;
    u.fill(0, 0, m);
    for (let i = 0; i < m; i++) {
      const row = (o + i) * n + o;
      const vi = v[i]!;
      for (let j = 0; j < m; j++) u[j] = u[j]! + vi * Q[row + j]!;
    }
    for (let i = 0; i < m; i++) {
      const row = (o + i) * n + o;
      const s = beta * v[i]!;
      for (let j = 0; j < m; j++) Q[row + j] = Q[row + j]! - s * u[j]!;
    }
  }
  const basis = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) basis[j * n + i] = Q[i * n + j]!;
  return { diag, off, basis };
}

/**
 * Diagonalises the tridiagonal (diag, off) in place by implicit QL steps with Wilkinson shifts,
 * applying every Givens rotation to rows of `basis`; on return diag holds the eigenvalues and
 * row i of basis the eigenvector of diag[i].
 */
function diagonaliseTridiagonal(diag: Float64Array, off: Float64Array, basis: Float64Array, n: number): void {
  off[n - 1] = 0;
  // An off-diagonal counts as zero below eps * ||T||: a test relative to the neighbouring
  // diagonals alone never passes inside a block of (near-)zero eigenvalues, which image
  // covariances have (pixels that are always 0).
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(diag[i]!) + Math.abs(off[i]!) + (i > 0 ? Math.abs(off[i - 1]!) : 0));
  const tiny = Number.EPSILON * norm;
  for (let l = 0; l < n; l++) {
    for (let iter = 0; ; iter++) {
      // The first m >= l where the matrix splits (off[m] negligible).
      let m = l;
      while (m < n - 1 && Math.abs(off[m]!) > tiny) m++;
      if (m === l) break;
      if (iter === 60) throw new Error(`symmetricEigen: no convergence after 60 QL steps at eigenvalue ${l}; the matrix has NaN or Inf`);
      // Shift: the eigenvalue of the leading 2 x 2 block nearer diag[l].
      let g = (diag[l + 1]! - diag[l]!) / (2 * off[l]!);
      let r = Math.hypot(g, 1);
      g = diag[m]! - diag[l]! + off[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let shift = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        const f = s * off[i]!;
        const b = c * off[i]!;
        r = Math.hypot(f, g);
        off[i + 1] = r;
        if (r === 0) {
          // Underflow: the matrix split at i + 1; finish this step there.
          diag[i + 1] = diag[i + 1]! - shift;
          off[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = diag[i + 1]! - shift;
        r = (diag[i]! - g) * s + 2 * c * b;
        shift = s * r;
        diag[i + 1] = g + shift;
        g = c * r - b;
        rotateRows(basis, n, i, i + 1, c, s);
      }
      if (r === 0 && i >= l) continue;
      diag[l] = diag[l]! - shift;
      off[l] = g;
      off[m] = 0;
    }
  }
}

/** Rows i, j of z <- (c z_i - s z_j, s z_i + c z_j). */
function rotateRows(z: Float64Array, n: number, i: number, j: number, c: number, s: number): void {
  const a = i * n;
  const b = j * n;
  for (let k = 0; k < n; k++) {
    const zi = z[a + k]!;
    const zj = z[b + k]!;
    z[a + k] = c * zi - s * zj;
    z[b + k] = s * zi + c * zj;
  }
}

export interface Pca {
  dim: number;
  /** Per-feature mean of the data the components were fitted on. */
  mean: Float64Array;
  /** Variances along the components (covariance eigenvalues, divisor rows - 1), largest first. */
  variances: Float64Array;
  /** Row-major [dim, dim]: row j is component j. */
  components: Float64Array;
}

/** Principal components of `rows` samples of `dim` features (row-major); the covariance by the engine's matmul. */
export function fitPca(x: Float64Array | Float32Array, rows: number, dim: number): Pca {
  if (rows < 2 || x.length !== rows * dim)
    throw new RangeError(`fitPca: needs at least 2 rows of ${dim} values, got ${x.length} values for ${rows} rows`);
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j] = mean[j]! + x[r * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j] = mean[j]! / rows;
  const centred = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) centred[r * dim + j] = x[r * dim + j]! - mean[j]!;
  const cov = scope(() => {
    const t = fromTypedArray(centred, [rows, dim]);
    return t.T.matmul(t)
      .div(rows - 1)
      .contiguous()
      .toTypedArray() as Float64Array;
  });
  // Symmetrise away the last-bit differences matmul may leave between (i, j) and (j, i).
  for (let i = 0; i < dim; i++)
    for (let j = i + 1; j < dim; j++) {
      const s = 0.5 * (cov[i * dim + j]! + cov[j * dim + i]!);
      cov[i * dim + j] = s;
      cov[j * dim + i] = s;
    }
  const { values, vectors } = symmetricEigen(cov, dim);
  // Round-off can leave the smallest variances slightly negative.
  for (let j = 0; j < dim; j++) if (values[j]! < 0) values[j] = 0;
  return { dim, mean, variances: values, components: vectors };
}

/**
 * The smallest k whose leading k components hold at least `fraction` of the total variance
 * (0 for fraction 0), and the fraction they hold.
 */
export function leadingComponentsFor(pca: Pca, fraction: number): { count: number; fraction: number } {
  const total = pca.variances.reduce((a, b) => a + b, 0);
  if (fraction <= 0 || total === 0) return { count: 0, fraction: 0 };
  let held = 0;
  for (let k = 0; k < pca.dim; k++) {
    held += pca.variances[k]!;
    // A relative slack so that round-off in the sum cannot push k one component too far.
    if (held >= fraction * total * (1 - 1e-12)) return { count: k + 1, fraction: held / total };
  }
  return { count: pca.dim, fraction: 1 };
}

/**
 * Each row x minus its projection on the first `count` components, taken about the fitted
 * mean: x - V_k^T V_k (x - mean). The mean stays; the variance along those components goes.
 */
export function removeComponents(x: Float32Array | Float64Array, rows: number, pca: Pca, count: number): Float64Array {
  const { dim } = pca;
  if (x.length !== rows * dim) throw new RangeError(`removeComponents: expected ${rows} x ${dim} values, got ${x.length}`);
  const out = Float64Array.from(x);
  if (count === 0) return out;
  // In blocks of rows, so the engine's copies stay small.
  const block = 1024;
  const centred = new Float64Array(Math.min(rows, block) * dim);
  scope(() => {
    const v = fromTypedArray(pca.components.subarray(0, count * dim), [count, dim]);
    for (let r0 = 0; r0 < rows; r0 += block) {
      const nr = Math.min(block, rows - r0);
      for (let i = 0; i < nr * dim; i++) centred[i] = out[r0 * dim + i]! - pca.mean[i % dim]!;
      const projected = scope(
        () =>
          fromTypedArray(centred.subarray(0, nr * dim), [nr, dim])
            .matmul(v.T)
            .matmul(v)
            .contiguous()
            .toTypedArray() as Float64Array,
      );
      for (let i = 0; i < nr * dim; i++) out[r0 * dim + i] = out[r0 * dim + i]! - projected[i]!;
    }
  });
  return out;
}
