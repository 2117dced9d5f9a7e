import { checkOneOf, invalid } from './errors.js';

/** Element types, named as in PyTorch. */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'float16' | 'bfloat16' | 'uint8' | 'int8' | 'int16';

// Order matches kTypes in native/common.cc.
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int64', 'int32', 'bool', 'float16', 'bfloat16', 'uint8', 'int8', 'int16'];

const ALIASES: Record<string, DType> = { float: 'float32', double: 'float64', long: 'int64', int: 'int32', half: 'float16' };

export function dtypeCode(d: DType | string): number {
  const name = ALIASES[d] ?? d;
  return DTYPES.indexOf(checkOneOf('dtype', name, DTYPES));
}

export function dtypeFromCode(c: number): DType {
  const d = DTYPES[c];
  if (d === undefined) throw new Error(`unsupported dtype code ${c} from libtorch`);
  return d;
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  int64: 8,
  int32: 4,
  bool: 1,
  float16: 2,
  bfloat16: 2,
  uint8: 1,
  int8: 1,
  int16: 2,
};

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** The typed array each dtype reads back as (float16/bfloat16: raw bits in a Uint16Array). */
export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Int16Array | Uint16Array;

export function typedArrayFor(d: DType, buf: ArrayBuffer): TypedArray {
  switch (d) {
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return new Float64Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'bool':
    case 'uint8':
      return new Uint8Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'int16':
      return new Int16Array(buf);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buf);
  }
}

export function dtypeOfTypedArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  throw invalid(
    'data',
    'a Float32Array, Float64Array, BigInt64Array, Int32Array, Int16Array, Int8Array or Uint8Array (Uint16Array with dtype float16 or bfloat16)',
    a,
  );
}
