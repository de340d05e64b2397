// A small declarative language for Kafka messages: one field list per message drives encode and
// decode for every version, and the TypeScript type of a message is inferred from it.
//
//   const Req = message({
//     name: 'MetadataRequest', apiKey: 3, versions: '0-12', flexibleVersions: '9+',
//     fields: [
//       field('topics', array(struct([field('name', string, { nullable: '10+' })])), { nullable: '1+' }),
//       field('allowAutoTopicCreation', bool, { versions: '4+', default: true }),
//     ],
//   })
//   type Req = Value<typeof Req>  // { topics: { name: string | null }[] | null; allowAutoTopicCreation: boolean }
//
// The field options mirror Kafka's message JSON (clients/src/main/resources/common/message):
// `versions`, `nullable` (nullableVersions), `tagged` (tag + taggedVersions) and `default`.
// A field absent in a version decodes as its default, so a message has one shape across versions.

import { assert } from '../core/assert.js'
import { EddyError } from '../core/errors.js'
import { type RawTaggedField, Reader, UUID_ZERO, Writer } from './codec.js'
import { ProtocolError, withinPath } from './protocol-error.js'

// ---------------------------------------------------------------------------------------------
// Versions

/** An inclusive version range; 'none' is empty (min > max). */
export interface VersionRange {
  readonly min: number
  readonly max: number
}

/** Parses Kafka's version notation: '3+', '0-7', '5', 'none'. */
export function parseVersions(spec: string): VersionRange {
  if (spec === 'none') return { min: 1, max: 0 }
  const m = /^(\d+)(\+|-(\d+))?$/.exec(spec)
  assert(m !== null, `bad version range '${spec}'`)
  const min = Number(m[1])
  const max = m[2] === undefined ? min : m[2] === '+' ? Number.POSITIVE_INFINITY : Number(m[3])
  assert(min <= max, `bad version range '${spec}'`)
  return { min, max }
}

export function inVersions(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max
}

// ---------------------------------------------------------------------------------------------
// Types

/** How one value is read and written at a given message version. */
export interface Ctx {
  readonly version: number
  /** Flexible versions use compact strings/arrays/bytes and end every struct with tagged fields. */
  readonly flexible: boolean
}

export type Kind =
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'uuid'
  | 'string'
  | 'bytes'
  | 'records'
  | 'array'
  | 'struct'

export interface Type<T> {
  readonly kind: Kind
  write(w: Writer, value: T, ctx: Ctx): void
  read(r: Reader, ctx: Ctx): T
  /** Kafka's implicit default: 0, false, '', empty bytes, the zero UUID, [], a struct of defaults. */
  empty(): T
  /** The fewest bytes a value takes; bounds array counts by the bytes left. */
  minBytes(ctx: Ctx): number
  /** Present when the type has a null encoding (strings, bytes, records, arrays). */
  writeNull?(w: Writer, ctx: Ctx): void
  readNullable?(r: Reader, ctx: Ctx): T | null
}

export interface ArrayType<E> extends Type<E[]> {
  readonly kind: 'array'
  readonly element: Type<E>
}

export interface StructType<T> extends Type<T> {
  readonly kind: 'struct'
  readonly fields: readonly AnyField[]
}

function encodeError(w: Writer, reason: string): ProtocolError {
  return new ProtocolError(`cannot encode: ${reason}`, w.length)
}

function fixed<T>(
  kind: Kind,
  bytes: number,
  write: (w: Writer, v: T) => void,
  read: (r: Reader) => T,
  empty: T,
): Type<T> {
  return {
    kind,
    write,
    read,
    empty: () => empty,
    minBytes: () => bytes,
  }
}

export const int8: Type<number> = fixed(
  'int8',
  1,
  (w, v) => w.int8(v),
  (r) => r.int8(),
  0,
)
export const int16: Type<number> = fixed(
  'int16',
  2,
  (w, v) => w.int16(v),
  (r) => r.int16(),
  0,
)
export const uint16: Type<number> = fixed(
  'uint16',
  2,
  (w, v) => w.uint16(v),
  (r) => r.uint16(),
  0,
)
export const int32: Type<number> = fixed(
  'int32',
  4,
  (w, v) => w.int32(v),
  (r) => r.int32(),
  0,
)
export const uint32: Type<number> = fixed(
  'uint32',
  4,
  (w, v) => w.uint32(v),
  (r) => r.uint32(),
  0,
)
/** int64 as a number, exact up to 2^53 (offsets, timestamps, producer ids). */
export const int64: Type<number> = fixed(
  'int64',
  8,
  (w, v) => w.int64(v),
  (r) => r.int64(),
  0,
)
export const float64: Type<number> = fixed(
  'float64',
  8,
  (w, v) => w.float64(v),
  (r) => r.float64(),
  0,
)
export const bool: Type<boolean> = fixed(
  'bool',
  1,
  (w, v) => w.bool(v),
  (r) => r.bool(),
  false,
)
/** A UUID as lowercase 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'; 32 plain hex digits are accepted on write. */
export const uuid: Type<string> = fixed(
  'uuid',
  16,
  (w, v) => w.uuid(v),
  (r) => r.uuid(),
  UUID_ZERO,
)

export const string: Type<string> = {
  kind: 'string',
  write: (w, v, ctx) => (ctx.flexible ? w.compactString(v) : w.string(v)),
  read: (r, ctx) => (ctx.flexible ? r.compactString() : r.string()),
  empty: () => '',
  minBytes: (ctx) => (ctx.flexible ? 1 : 2),
  writeNull: (w, ctx) => (ctx.flexible ? w.compactNullableString(null) : w.nullableString(null)),
  readNullable: (r, ctx) => (ctx.flexible ? r.compactNullableString() : r.nullableString()),
}

/** BYTES, copied out of the frame (group metadata, SASL tokens: small and often kept). */
export const bytes: Type<Buffer> = {
  kind: 'bytes',
  write: (w, v, ctx) => (ctx.flexible ? w.compactBytes(v) : w.bytes(v)),
  read: (r, ctx) => Buffer.from(ctx.flexible ? r.compactBytes() : r.bytes()),
  empty: () => Buffer.alloc(0),
  minBytes: (ctx) => (ctx.flexible ? 1 : 4),
  writeNull: (w, ctx) => (ctx.flexible ? w.compactNullableBytes(null) : w.nullableBytes(null)),
  readNullable: (r, ctx) => {
    const v = ctx.flexible ? r.compactNullableBytes() : r.nullableBytes()
    return v === null ? null : Buffer.from(v)
  },
}

/**
 * RECORDS (Produce/Fetch record sets): raw bytes, decoded elsewhere (core/record-batch.ts). Read
 * as a view into the frame, not a copy: the log writes them out, so copying would be waste.
 */
export const records: Type<Buffer> = {
  ...bytes,
  kind: 'records',
  read: (r, ctx) => (ctx.flexible ? r.compactBytes() : r.bytes()),
  readNullable: (r, ctx) => (ctx.flexible ? r.compactNullableBytes() : r.nullableBytes()),
}

export function array<E>(element: Type<E>): ArrayType<E> {
  const writeLength = (w: Writer, n: number | null, ctx: Ctx) =>
    ctx.flexible ? w.compactArrayLength(n) : w.arrayLength(n)
  const readLength = (r: Reader, ctx: Ctx) =>
    ctx.flexible ? r.compactArrayLength(element.minBytes(ctx)) : r.arrayLength(element.minBytes(ctx))
  const readElements = (r: Reader, ctx: Ctx, n: number): E[] => {
    const out: E[] = []
    for (let i = 0; i < n; i++) {
      try {
        out.push(element.read(r, ctx))
      } catch (err) {
        throw withinPath(err, `[${i}]`)
      }
    }
    return out
  }
  return {
    kind: 'array',
    element,
    write(w, v, ctx) {
      if (!Array.isArray(v)) throw encodeError(w, `${String(v)} is not an array`)
      writeLength(w, v.length, ctx)
      for (let i = 0; i < v.length; i++) {
        try {
          element.write(w, v[i] as E, ctx)
        } catch (err) {
          throw withinPath(err, `[${i}]`)
        }
      }
    },
    read(r, ctx) {
      const start = r.pos
      const n = readLength(r, ctx)
      if (n === -1) r.fail('null where an array is required', start)
      return readElements(r, ctx, n)
    },
    empty: () => [],
    minBytes: (ctx) => (ctx.flexible ? 1 : 4),
    writeNull: (w, ctx) => writeLength(w, null, ctx),
    readNullable(r, ctx) {
      const n = readLength(r, ctx)
      return n === -1 ? null : readElements(r, ctx, n)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Fields

export interface FieldOptions<T> {
  /** Versions the field exists in; default '0+'. */
  readonly versions?: string
  /** Versions in which it may be null (Kafka's nullableVersions). Makes the TS type `T | null`. */
  readonly nullable?: string
  /** A tagged field: written in the tagged-fields section, and only when not the default. */
  readonly tagged?: { readonly tag: number; readonly versions?: string }
  /** Kafka's "default": the value when absent. A number, string, boolean or null. */
  readonly default?: T | null
}

export interface Field<N extends string, T> {
  readonly name: N
  readonly type: Type<unknown>
  readonly versions: VersionRange
  readonly nullableVersions: VersionRange | null
  readonly tag: number | null
  readonly taggedVersions: VersionRange | null
  /** A fresh default value (never shared, so callers may mutate it). */
  makeDefault(): T
}

export type AnyField = Field<string, unknown>

type FieldValue<F> = F extends Field<string, infer T> ? T : never
type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** The TypeScript shape of a struct with these fields. */
export type StructValue<F extends readonly AnyField[]> = Simplify<{
  [E in F[number] as E['name']]: FieldValue<E>
}>

type NoOptions = Record<never, never>

export function field<const N extends string, T, const O extends FieldOptions<T> = NoOptions>(
  name: N,
  type: Type<T>,
  options?: O,
): Field<N, O extends { readonly nullable: string } ? T | null : T> {
  const versions = parseVersions(options?.versions ?? '0+')
  const nullableVersions = options?.nullable === undefined ? null : parseVersions(options.nullable)
  assert(
    nullableVersions === null || type.readNullable !== undefined,
    `${name}: a ${type.kind} cannot be null`,
  )
  const tag = options?.tagged?.tag ?? null
  const taggedVersions =
    options?.tagged === undefined ? null : parseVersions(options.tagged.versions ?? options.versions ?? '0+')
  const explicit = options?.default
  assert(
    explicit === undefined || explicit === null || typeof explicit !== 'object',
    `${name}: an explicit default must be a number, string, boolean or null`,
  )
  assert(explicit !== null || nullableVersions !== null, `${name}: default null needs nullable versions`)
  const makeDefault = explicit === undefined ? () => type.empty() : () => explicit
  return {
    name,
    type: type as Type<unknown>,
    versions,
    nullableVersions,
    tag,
    taggedVersions,
    makeDefault: makeDefault as () => T,
  }
}

// ---------------------------------------------------------------------------------------------
// Structs

interface Slot {
  readonly name: string
  readonly field: AnyField
  readonly type: Type<unknown>
  /** 'absent' fields decode as their default; 'tagged' ones too unless their tag is present. */
  readonly mode: 'regular' | 'tagged' | 'absent'
  readonly nullable: boolean
}

interface Plan {
  readonly slots: readonly Slot[]
  readonly regular: readonly Slot[]
  /** Sorted by tag. */
  readonly tagged: readonly Slot[]
  readonly byTag: ReadonlyMap<number, Slot>
  readonly minBytes: number
}

function planFor(fields: readonly AnyField[], ctx: Ctx): Plan {
  const slots: Slot[] = fields.map((f) => {
    const present = inVersions(f.versions, ctx.version)
    const tagged =
      present && ctx.flexible && f.taggedVersions !== null && inVersions(f.taggedVersions, ctx.version)
    const nullable = f.nullableVersions !== null && inVersions(f.nullableVersions, ctx.version)
    const mode = !present ? 'absent' : tagged ? 'tagged' : 'regular'
    return { name: f.name, field: f, type: f.type, mode, nullable }
  })
  const regular = slots.filter((s) => s.mode === 'regular')
  const tagged = slots.filter((s) => s.mode === 'tagged').sort((a, b) => a.field.tag! - b.field.tag!)
  let minBytes = ctx.flexible ? 1 : 0
  for (const s of regular) minBytes += s.type.minBytes(ctx)
  return { slots, regular, tagged, byTag: new Map(tagged.map((s) => [s.field.tag!, s])), minBytes }
}

function writeSlot(w: Writer, s: Slot, value: unknown, ctx: Ctx): void {
  if (value === null) {
    if (!s.nullable) throw encodeError(w, `null is not allowed in v${ctx.version}`)
    s.type.writeNull!(w, ctx)
  } else {
    s.type.write(w, value, ctx)
  }
}

function readSlot(r: Reader, s: Slot, ctx: Ctx): unknown {
  return s.nullable ? s.type.readNullable!(r, ctx) : s.type.read(r, ctx)
}

/** True when `v` equals the field's default, so a tagged field need not be written. */
function isDefault(type: Type<unknown>, v: unknown, dflt: unknown): boolean {
  if (v === undefined || v === dflt) return true
  if (v === null || dflt === null) return false
  switch (type.kind) {
    case 'array':
      return Array.isArray(v) && v.length === 0 && Array.isArray(dflt) && dflt.length === 0
    case 'bytes':
    case 'records':
      return v instanceof Uint8Array && dflt instanceof Uint8Array && Buffer.compare(v, dflt) === 0
    case 'uuid':
      return typeof v === 'string' && v.replaceAll('-', '').toLowerCase() === String(dflt).replaceAll('-', '')
    case 'struct': {
      const obj = v as Record<string, unknown>
      return (type as StructType<unknown>).fields.every((f) =>
        isDefault(f.type, obj[f.name], f.makeDefault()),
      )
    }
    default:
      return false
  }
}

export function struct<const F extends readonly AnyField[]>(fields: F): StructType<StructValue<F>> {
  const names = new Set<string>()
  const tags = new Set<number>()
  for (const f of fields) {
    assert(!names.has(f.name), `field '${f.name}' is declared twice`)
    names.add(f.name)
    if (f.tag !== null) {
      assert(!tags.has(f.tag), `tag ${f.tag} is used twice`)
      tags.add(f.tag)
    }
  }
  const plans: (Plan | undefined)[] = []
  const plan = (ctx: Ctx): Plan => {
    const key = ctx.version * 2 + (ctx.flexible ? 1 : 0)
    let p = plans[key]
    if (p === undefined) {
      p = planFor(fields, ctx)
      plans[key] = p
    }
    return p
  }
  type T = StructValue<F>
  return {
    kind: 'struct',
    fields,
    write(w, value, ctx) {
      if (typeof value !== 'object' || value === null)
        throw encodeError(w, `${String(value)} is not an object`)
      const obj = value as Record<string, unknown>
      const p = plan(ctx)
      for (const s of p.regular) {
        const v = obj[s.name]
        try {
          writeSlot(w, s, v === undefined ? s.field.makeDefault() : v, ctx)
        } catch (err) {
          throw withinPath(err, s.name)
        }
      }
      if (!ctx.flexible) return
      const present: RawTaggedField[] = []
      for (const s of p.tagged) {
        const v = obj[s.name]
        if (v === undefined || isDefault(s.type, v, s.field.makeDefault())) continue
        const tw = new Writer(64)
        try {
          writeSlot(tw, s, v, ctx)
        } catch (err) {
          throw withinPath(err, s.name)
        }
        present.push({ tag: s.field.tag!, data: tw.finish() })
      }
      w.taggedFields(present)
    },
    read(r, ctx) {
      const p = plan(ctx)
      const out: Record<string, unknown> = {}
      for (const s of p.slots) {
        if (s.mode !== 'regular') {
          out[s.name] = s.field.makeDefault()
          continue
        }
        try {
          out[s.name] = readSlot(r, s, ctx)
        } catch (err) {
          throw withinPath(err, s.name)
        }
      }
      if (ctx.flexible) {
        r.taggedFields((tag, tr) => {
          const s = p.byTag.get(tag)
          if (s === undefined) return false
          try {
            out[s.name] = readSlot(tr, s, ctx)
          } catch (err) {
            throw withinPath(err, s.name)
          }
          return true
        })
      }
      return out as T
    },
    empty() {
      const out: Record<string, unknown> = {}
      for (const f of fields) out[f.name] = f.makeDefault()
      return out as T
    },
    minBytes: (ctx) => plan(ctx).minBytes,
  }
}

// ---------------------------------------------------------------------------------------------
// Messages

/** What encode accepts: the decoded shape, where any field may be left out to mean its default. */
export type Input<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer E)[]
    ? readonly Input<E>[]
    : T extends object
      ? { readonly [K in keyof T]?: Input<T[K]> }
      : T

export interface MessageSchema<T> {
  readonly name: string
  readonly apiKey: number
  /** The versions implemented (and advertised). */
  readonly versions: VersionRange
  readonly flexibleVersions: VersionRange
  readonly body: StructType<T>
  isFlexible(version: number): boolean
  /** Encodes to a new Buffer. */
  encode(value: Input<T>, version: number): Buffer
  write(w: Writer, value: Input<T>, version: number): void
  /** Decodes the whole of `buf`; trailing bytes are an error. */
  decode(buf: Buffer, version: number): T
  /** Decodes from the reader's position, leaving it after the message. */
  read(r: Reader, version: number): T
  /** Every field at its default. */
  empty(): T
}

/** The decoded TypeScript type of a message schema. */
export type Value<M> = M extends MessageSchema<infer T> ? T : never

export interface MessageDefinition<F extends readonly AnyField[]> {
  readonly name: string
  readonly apiKey: number
  /** Versions implemented, e.g. '3-11'. */
  readonly versions: string
  /** Kafka's flexibleVersions, e.g. '9+' or 'none'. */
  readonly flexibleVersions: string
  readonly fields: F
}

export function message<const F extends readonly AnyField[]>(
  def: MessageDefinition<F>,
): MessageSchema<StructValue<F>> {
  type T = StructValue<F>
  const body = struct(def.fields)
  const versions = parseVersions(def.versions)
  assert(Number.isFinite(versions.max), `${def.name}: the implemented versions need an upper bound`)
  const flexibleVersions = parseVersions(def.flexibleVersions)
  const ctxs: Ctx[] = []
  for (let v = versions.min; v <= versions.max; v++)
    ctxs[v] = { version: v, flexible: inVersions(flexibleVersions, v) }
  const ctxOf = (version: number): Ctx => {
    const ctx = ctxs[version]
    if (ctx === undefined) {
      throw new EddyError(
        'UNSUPPORTED_VERSION',
        `${def.name} v${version} is not implemented (v${versions.min}-v${versions.max}); send a version in that range`,
      )
    }
    return ctx
  }
  const named = (err: unknown, version: number): unknown =>
    err instanceof ProtocolError ? err.inMessage(`${def.name} v${version}`) : err

  const schema: MessageSchema<T> = {
    name: def.name,
    apiKey: def.apiKey,
    versions,
    flexibleVersions,
    body,
    isFlexible: (version) => inVersions(flexibleVersions, version),
    write(w, value, version) {
      const ctx = ctxOf(version)
      try {
        body.write(w, value as T, ctx)
      } catch (err) {
        throw named(err, version)
      }
    },
    encode(value, version) {
      const w = new Writer(256)
      schema.write(w, value, version)
      return w.finish()
    },
    read(r, version) {
      const ctx = ctxOf(version)
      try {
        return body.read(r, ctx)
      } catch (err) {
        throw named(err, version)
      }
    },
    decode(buf, version) {
      const r = new Reader(buf)
      const v = schema.read(r, version)
      try {
        r.expectEnd(def.name)
      } catch (err) {
        throw named(err, version)
      }
      return v
    },
    empty: () => body.empty(),
  }
  return schema
}
