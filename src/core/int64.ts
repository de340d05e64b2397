// Kafka's int64 fields (offsets, timestamps, producer ids) as JS numbers: exact up to 2^53,
// far beyond any offset or millisecond timestamp we will meet, and much cheaper than bigint.

const TWO_32 = 4294967296

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4)
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / TWO_32)
  buf.writeInt32BE(hi, pos)
  buf.writeUInt32BE(value - hi * TWO_32, pos + 4)
}
