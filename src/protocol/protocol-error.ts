// The one error the wire codec throws: bytes that do not parse (or a value that cannot be
// encoded), with the field path and byte offset where it happened.
import { EddyError } from '../core/errors.js'

export class ProtocolError extends EddyError {
  /** Field path from the message root, outermost first: ['topics', '[2]', 'partitions', '[0]', 'records']. */
  readonly path: string[] = []
  /** Byte offset in the buffer being read (or written) when the problem was found. */
  readonly offset: number
  /** What went wrong, without the location. */
  readonly reason: string
  /** The message being read or written, e.g. 'ProduceRequest v9', once known. */
  context = ''

  constructor(reason: string, offset: number) {
    super('MALFORMED_MESSAGE', reason)
    this.name = 'ProtocolError'
    this.reason = reason
    this.offset = offset
    this.message = this.describe()
  }

  /** Adds an enclosing path segment; the decoders call this as the error unwinds. */
  within(segment: string): this {
    this.path.unshift(segment)
    this.message = this.describe()
    return this
  }

  /** Names the message being decoded or encoded. */
  inMessage(context: string): this {
    this.context = context
    this.message = this.describe()
    return this
  }

  /** 'topics[2].partitions[0].records' */
  pathString(): string {
    let s = ''
    for (const seg of this.path) s += seg.startsWith('[') || s === '' ? seg : `.${seg}`
    return s
  }

  private describe(): string {
    const where = this.pathString()
    const what = this.context === '' ? 'Kafka message' : this.context
    return `${what}${where === '' ? '' : ` at ${where}`} (byte ${this.offset}): ${this.reason}`
  }
}

/** Adds `segment` to a ProtocolError's path; other errors pass through untouched. */
export function withinPath(err: unknown, segment: string): unknown {
  if (err instanceof ProtocolError) err.within(segment)
  return err
}
