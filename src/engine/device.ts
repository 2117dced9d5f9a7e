import { invalid } from './errors.js';
import { native } from './native.js';

/** 'cpu', or 'cuda' / 'cuda:N' where the linked libtorch has CUDA. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export function checkDevice(d: unknown): Device {
  if (d === 'cpu') return d;
  if (typeof d === 'string' && /^cuda(:\d+)?$/.test(d)) {
    if (!cuda.isAvailable()) {
      throw invalid(
        'device',
        "'cpu' (this libtorch has no CUDA, or no GPU is visible; point LIBTORCH at a CUDA build and rebuild with npm run build:native)",
        d,
      );
    }
    const idx = d.includes(':') ? Number(d.slice(5)) : 0;
    if (idx >= cuda.deviceCount()) throw invalid('device', `a CUDA index below ${cuda.deviceCount()}`, d);
    return d as Device;
  }
  throw invalid('device', "'cpu', 'cuda' or 'cuda:N'", d);
}

export const cuda = {
  isAvailable(): boolean {
    return native.cudaAvailable() as boolean;
  },
  deviceCount(): number {
    return native.cudaDeviceCount() as number;
  },
};
