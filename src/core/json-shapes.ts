// What json()'s fast paths share (core/json-decoder.ts, core/json-encoder.ts): which objects have
// a shape they can take, which shapes are worth compiling, and when to stop trying.

/** Shapes kept per decoder or encoder; a stream rarely has more than a few. */
const SHAPES_MAX = 8
/** Keys per shape: beyond this, a compiled shape is not worth it. */
const KEYS_MAX = 32
/** A shape is compiled once seen this many times (compiling costs tens of µs). */
const SEEN_TO_COMPILE = 2
/**
 * After this many values in a row the slow way, the fast path (trying shapes, learning them)
 * rests for REST_VALUES values: a stream of nested or pretty-printed JSON pays for it on one
 * value in ~65.
 */
const SLOW_TO_REST = 64
const REST_VALUES = 4096

const INDEX_LIKE = /^(0|[1-9]\d*)$/

/**
 * The keys of `value` if it is a flat object a fast path can take: at most 32 keys, none of
 * them "__proto__" (a literal would set the prototype; a read by name gets the prototype) or
 * index-like (objects list those first, not in the order written), every value a number, a
 * string, a boolean or null. With `plainDataOnly`, also a plain object (Object.prototype) whose
 * properties are data, not getters.
 */
export function flatShapeKeys(value: unknown, plainDataOnly: boolean): string[] | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  if (plainDataOnly && Object.getPrototypeOf(value) !== Object.prototype) return null
  const keys = Object.keys(value)
  if (keys.length === 0 || keys.length > KEYS_MAX) return null
  for (const k of keys) {
    if (k === '__proto__' || INDEX_LIKE.test(k)) return null
    let v: unknown
    if (plainDataOnly) {
      const d = Object.getOwnPropertyDescriptor(value, k)
      if (d === undefined || !('value' in d)) return null
      v = d.value
    } else {
      v = (value as Record<string, unknown>)[k]
    }
    if (v !== null && typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') return null
  }
  return keys
}

/** The compiled shapes of one decoder or encoder, the latest learned first. */
export class ShapeCache<S extends { readonly id: string }> {
  readonly shapes: S[] = []
  /** How often each flat shape has gone the slow way. */
  private readonly seen = new Map<string, number>()
  private slowInARow = 0
  private restFor = 0

  constructor(private readonly compile: (id: string, keys: readonly string[]) => S) {}

  /** True while the fast path rests; counts the value. */
  resting(): boolean {
    if (this.restFor === 0) return false
    this.restFor--
    return true
  }

  /** A value took the fast path. */
  hit(): void {
    this.slowInARow = 0
  }

  /** A value went the slow way (not while resting): learns its shape, keys from flatShapeKeys. */
  missed(keys: readonly string[] | null): void {
    if (++this.slowInARow >= SLOW_TO_REST) {
      this.slowInARow = 0
      this.restFor = REST_VALUES
    }
    if (keys === null) return
    const id = keys.join('\u0000')
    const seen = (this.seen.get(id) ?? 0) + 1
    if (this.seen.size >= SHAPES_MAX * 4) this.seen.clear()
    this.seen.set(id, seen)
    if (seen < SEEN_TO_COMPILE || this.shapes.some((s) => s.id === id)) return
    if (this.shapes.length >= SHAPES_MAX) this.shapes.pop()
    this.shapes.unshift(this.compile(id, keys))
  }
}
