import { ArgumentError } from '../engine/errors.js';

/** A typed name -> item map; an unknown name is an error that lists the known ones. */
export class Registry<T> {
  private readonly items = new Map<string, T>();
  constructor(readonly what: string) {}

  register(name: string, item: T): void {
    this.items.set(name, item);
  }

  has(name: string): boolean {
    return this.items.has(name);
  }

  names(): string[] {
    return [...this.items.keys()];
  }

  get(name: string): T {
    const item = this.items.get(name);
    if (item === undefined) throw new ArgumentError(`unknown ${this.what} '${String(name)}'; known: ${this.names().join(', ')}`);
    return item;
  }
}
